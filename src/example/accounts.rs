//! `AccountService`: the accounts of a user. Every method first checks that
//! the owning user exists; accounts go away with their user.

use tonic::{Request, Response, Status};

use super::store::{
    check_preconditions, children, id_key, now, replaced, required, IdKey, Kind, Store,
};
use super::ExampleState;
use crate::pb::examples::v1::account_service_server::AccountService;
use crate::pb::examples::v1::{
    Account, CreateAccountRequest, GetAccountRequest, ListAccountsRequest, ListAccountsResponse,
    ReplaceAccountRequest,
};

/// The key of the user `user_id`, or NOT_FOUND when there is no such user.
fn owner(store: &Store, user_id: &str) -> Result<IdKey, Status> {
    let key = id_key(user_id, "user_id")?;
    if store.users.contains_key(&key) {
        Ok(key)
    } else {
        Err(Status::not_found(format!("user {user_id} not found")))
    }
}

#[tonic::async_trait]
impl AccountService for ExampleState {
    async fn create_account(
        &self,
        request: Request<CreateAccountRequest>,
    ) -> Result<Response<Account>, Status> {
        let request = request.into_inner();
        let mut account = required(request.account, "account")?;
        let mut store = self.lock();
        let user = owner(&store, &request.user_id)?;
        let account_id = store.next_id(Kind::Account, |s, k| {
            s.accounts.contains_key(&(user.clone(), k.clone()))
        });
        account.account_id.clone_from(&account_id);
        account.user_id = request.user_id;
        account.create_time = Some(now());
        account.etag = store.etag();
        store
            .accounts
            .insert((user, IdKey::new(&account_id)), account.clone());
        Ok(Response::new(account))
    }

    async fn replace_account(
        &self,
        request: Request<ReplaceAccountRequest>,
    ) -> Result<Response<Account>, Status> {
        let (metadata, _, request) = request.into_parts();
        let key = id_key(&request.account_id, "account_id")?;
        let mut account = required(request.account, "account")?;
        let mut store = self.lock();
        let key = (owner(&store, &request.user_id)?, key);
        let old = store.accounts.get(&key);
        check_preconditions(old.map(|a| a.etag.as_str()), &account.etag, &metadata)?;
        let created = old.is_none();
        account.create_time = match old {
            Some(old) => old.create_time,
            None => Some(now()),
        };
        account.account_id = request.account_id;
        account.user_id = request.user_id;
        account.etag = store.etag();
        store.accounts.insert(key, account.clone());
        Ok(replaced(account, created))
    }

    async fn get_account(
        &self,
        request: Request<GetAccountRequest>,
    ) -> Result<Response<Account>, Status> {
        let request = request.into_inner();
        let key = id_key(&request.account_id, "account_id")?;
        let store = self.lock();
        let key = (owner(&store, &request.user_id)?, key);
        let account = store.accounts.get(&key).ok_or_else(|| {
            Status::not_found(format!(
                "account {} of user {} not found",
                request.account_id, request.user_id
            ))
        })?;
        Ok(Response::new(account.clone()))
    }

    async fn list_accounts(
        &self,
        request: Request<ListAccountsRequest>,
    ) -> Result<Response<ListAccountsResponse>, Status> {
        let user_id = request.into_inner().user_id;
        let store = self.lock();
        let user = owner(&store, &user_id)?;
        let accounts = children(&store.accounts, &user).cloned().collect();
        Ok(Response::new(ListAccountsResponse { accounts }))
    }
}
