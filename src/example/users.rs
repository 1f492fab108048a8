//! `UserService`: create, replace, get, list, update and delete users;
//! stream them all, import a stream of them, look them up as asked. Their
//! avatars are in `avatars.rs`.

use std::ops::Bound;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::store::{check_preconditions, id_key, now, replaced, required, IdKey, Kind};
use super::ExampleState;
use crate::pb::examples::v1::user_service_server::UserService;
use crate::pb::examples::v1::{
    Address, AvatarInfo, CreateUserRequest, DeleteUserRequest, GetAvatarRequest, GetUserRequest,
    ImportUsersResponse, ListUsersRequest, ListUsersResponse, ReplaceUserRequest, Role,
    SetAvatarRequest, StreamUsersRequest, UpdateUserRequest, User,
};
use crate::pb::google::api::HttpBody;

/// Page size of ListUsers when the request gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Larger page sizes are lowered to this.
const MAX_PAGE_SIZE: usize = 1000;

/// The `update_mask` paths UpdateUser accepts, besides `*` (all of them).
const MASK_PATHS: &[&str] = &[
    "display_name",
    "email",
    "role",
    "karma",
    "tags",
    "labels",
    "address",
    "address.street",
    "address.city",
    "address.country",
];

fn not_found(user_id: &str) -> Status {
    Status::not_found(format!("user {user_id} not found"))
}

/// A stream of users, as the streaming methods answer.
type UserStream = Pin<Box<dyn Stream<Item = Result<User, Status>> + Send + 'static>>;

impl ExampleState {
    /// Stores `user` as a new user with a fresh id.
    fn insert_new_user(&self, mut user: User) -> User {
        let mut store = self.lock();
        let user_id = store.next_id(Kind::User, |s, k| s.users.contains_key(k));
        let now = now();
        user.user_id.clone_from(&user_id);
        user.create_time = Some(now);
        user.update_time = Some(now);
        user.etag = store.etag();
        store.users.insert(IdKey::new(&user_id), user.clone());
        user
    }

    /// The user with this id.
    fn user(&self, user_id: &str) -> Result<User, Status> {
        let key = id_key(user_id, "user_id")?;
        let store = self.lock();
        store
            .users
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(user_id))
    }
}

#[tonic::async_trait]
impl UserService for ExampleState {
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let user = required(request.into_inner().user, "user")?;
        Ok(Response::new(self.insert_new_user(user)))
    }

    async fn replace_user(
        &self,
        request: Request<ReplaceUserRequest>,
    ) -> Result<Response<User>, Status> {
        let (metadata, _, request) = request.into_parts();
        let key = id_key(&request.user_id, "user_id")?;
        let mut user = required(request.user, "user")?;
        let mut store = self.lock();
        let old = store.users.get(&key);
        check_preconditions(old.map(|u| u.etag.as_str()), &user.etag, &metadata)?;
        let now = now();
        let created = old.is_none();
        user.create_time = match old {
            Some(old) => old.create_time,
            None => Some(now),
        };
        user.user_id = request.user_id;
        user.update_time = Some(now);
        user.etag = store.etag();
        store.users.insert(key, user.clone());
        Ok(replaced(user, created))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        Ok(Response::new(self.user(&request.into_inner().user_id)?))
    }

    type StreamUsersStream = UserStream;

    async fn stream_users(
        &self,
        request: Request<StreamUsersRequest>,
    ) -> Result<Response<UserStream>, Status> {
        let role = request.into_inner().role;
        if Role::try_from(role).is_err() {
            return Err(Status::invalid_argument(format!("unknown role {role}")));
        }
        let users: Vec<User> = self
            .lock()
            .users
            .values()
            .filter(|user| role == 0 || user.role == role)
            .cloned()
            .collect();
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            users.into_iter().map(Ok),
        ))))
    }

    async fn import_users(
        &self,
        request: Request<Streaming<CreateUserRequest>>,
    ) -> Result<Response<ImportUsersResponse>, Status> {
        let mut requests = request.into_inner();
        let mut users = Vec::new();
        while let Some(request) = requests.message().await? {
            users.push(required(request.user, "user")?);
        }
        // All or nothing: every user is checked before any is stored.
        let users = users
            .into_iter()
            .map(|user| self.insert_new_user(user))
            .collect();
        Ok(Response::new(ImportUsersResponse { users }))
    }

    type LookupUsersStream = UserStream;

    async fn lookup_users(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<UserStream>, Status> {
        let state = self.clone();
        let users = request
            .into_inner()
            .map(move |request| request.and_then(|r| state.user(&r.user_id)));
        Ok(Response::new(Box::pin(users)))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let request = request.into_inner();
        let page_size = match usize::try_from(request.page_size) {
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "page_size must not be negative, got {}",
                    request.page_size
                )))
            }
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(n) => n.min(MAX_PAGE_SIZE),
        };
        if Role::try_from(request.role).is_err() {
            return Err(Status::invalid_argument(format!(
                "unknown role {}",
                request.role
            )));
        }
        // The page token is the id of the last user of the previous page.
        let start = match request.page_token.as_str() {
            "" => Bound::Unbounded,
            token => Bound::Excluded(IdKey::new(token)),
        };
        let store = self.lock();
        let mut users: Vec<User> = store
            .users
            .range((start, Bound::Unbounded))
            .map(|(_, user)| user)
            .filter(|user| request.role == 0 || user.role == request.role)
            .filter(|user| request.tag.iter().all(|tag| user.tags.contains(tag)))
            .take(page_size + 1)
            .cloned()
            .collect();
        drop(store);
        let mut next_page_token = String::new();
        if users.len() > page_size {
            users.truncate(page_size);
            if let Some(last) = users.last() {
                next_page_token.clone_from(&last.user_id);
            }
        }
        Ok(Response::new(ListUsersResponse {
            users,
            next_page_token,
        }))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let request = request.into_inner();
        let key = id_key(&request.user_id, "user_id")?;
        let patch = required(request.user, "user")?;
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut store = self.lock();
        let mut user = store
            .users
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(&request.user_id))?;
        if paths.is_empty() {
            // No mask: write every field `patch` sets to a non-default value
            // (the usual reading of an absent mask for a PATCH), so a field
            // cannot be cleared this way; name it in the mask for that.
            merge_set_fields(&mut user, &patch);
        } else {
            for path in &paths {
                apply_path(&mut user, &patch, path)?;
            }
        }
        user.update_time = Some(now());
        user.etag = store.etag();
        store.users.insert(key, user.clone());
        Ok(Response::new(user))
    }

    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        let user_id = request.into_inner().user_id;
        let key = id_key(&user_id, "user_id")?;
        let mut store = self.lock();
        store
            .users
            .remove(&key)
            .ok_or_else(|| not_found(&user_id))?;
        store.accounts.retain(|(owner, _), _| *owner != key);
        store.avatars.remove(&key);
        Ok(Response::new(()))
    }

    async fn set_avatar(
        &self,
        request: Request<SetAvatarRequest>,
    ) -> Result<Response<AvatarInfo>, Status> {
        ExampleState::set_avatar(self, request.into_inner()).map(Response::new)
    }

    async fn get_avatar(
        &self,
        request: Request<GetAvatarRequest>,
    ) -> Result<Response<HttpBody>, Status> {
        ExampleState::get_avatar(self, request.get_ref()).map(Response::new)
    }
}

/// Copies the field named by one `update_mask` path from `patch` to `user`.
/// `*` copies every writable field; a dotted `address.*` path copies one
/// field of the address, creating the address when the user has none.
fn apply_path(user: &mut User, patch: &User, path: &str) -> Result<(), Status> {
    let patch_address = patch.address.as_ref();
    match path {
        "*" => {
            for path in MASK_PATHS {
                apply_path(user, patch, path)?;
            }
        }
        "display_name" => user.display_name.clone_from(&patch.display_name),
        "email" => user.email.clone_from(&patch.email),
        "role" => user.role = patch.role,
        "karma" => user.karma = patch.karma,
        "tags" => user.tags.clone_from(&patch.tags),
        "labels" => user.labels.clone_from(&patch.labels),
        "address" => user.address.clone_from(&patch.address),
        "address.street" => {
            address_mut(user).street = patch_address.map(|a| a.street.clone()).unwrap_or_default();
        }
        "address.city" => {
            address_mut(user).city = patch_address.map(|a| a.city.clone()).unwrap_or_default();
        }
        "address.country" => {
            address_mut(user).country =
                patch_address.map(|a| a.country.clone()).unwrap_or_default();
        }
        other => {
            return Err(Status::invalid_argument(format!(
                "update_mask: unknown or read-only field {other:?}; writable fields are {}",
                MASK_PATHS.join(", ")
            )))
        }
    }
    Ok(())
}

/// Copies every field that `patch` sets to a non-default value; the address
/// is merged field by field.
fn merge_set_fields(user: &mut User, patch: &User) {
    if !patch.display_name.is_empty() {
        user.display_name.clone_from(&patch.display_name);
    }
    if !patch.email.is_empty() {
        user.email.clone_from(&patch.email);
    }
    if patch.role != 0 {
        user.role = patch.role;
    }
    if patch.karma != 0 {
        user.karma = patch.karma;
    }
    if !patch.tags.is_empty() {
        user.tags.clone_from(&patch.tags);
    }
    if !patch.labels.is_empty() {
        user.labels.clone_from(&patch.labels);
    }
    if let Some(from) = &patch.address {
        let to = address_mut(user);
        for (to, from) in [
            (&mut to.street, &from.street),
            (&mut to.city, &from.city),
            (&mut to.country, &from.country),
        ] {
            if !from.is_empty() {
                to.clone_from(from);
            }
        }
    }
}

fn address_mut(user: &mut User) -> &mut Address {
    user.address.get_or_insert_with(Address::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            display_name: "Ada".into(),
            email: "ada@example.com".into(),
            karma: 7,
            address: Some(Address {
                street: "1 Main St".into(),
                city: "London".into(),
                country: "GB".into(),
            }),
            ..User::default()
        }
    }

    #[test]
    fn a_path_copies_only_its_field_even_a_default() {
        let mut target = user();
        let patch = User {
            email: "new@example.com".into(),
            ..User::default()
        };
        apply_path(&mut target, &patch, "email").unwrap();
        apply_path(&mut target, &patch, "karma").unwrap();
        apply_path(&mut target, &patch, "address.city").unwrap();
        assert_eq!(target.email, "new@example.com");
        assert_eq!(target.karma, 0);
        assert_eq!(target.display_name, "Ada");
        let address = target.address.unwrap();
        assert_eq!(
            (address.street.as_str(), address.city.as_str()),
            ("1 Main St", "")
        );
    }

    #[test]
    fn unknown_and_read_only_paths_are_rejected() {
        for path in ["nickname", "user_id", "etag", "address.zip"] {
            let status = apply_path(&mut user(), &User::default(), path).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{path}");
        }
    }

    #[test]
    fn without_a_mask_only_set_fields_are_written() {
        let mut target = user();
        let patch = User {
            karma: 9,
            address: Some(Address {
                city: "Paris".into(),
                ..Address::default()
            }),
            ..User::default()
        };
        merge_set_fields(&mut target, &patch);
        assert_eq!(target.karma, 9);
        assert_eq!(target.display_name, "Ada");
        let address = target.address.unwrap();
        assert_eq!(
            (address.street.as_str(), address.city.as_str()),
            ("1 Main St", "Paris")
        );
    }
}
