//! Users' avatars: `SetAvatar` and `GetAvatar` of `UserService`, whose
//! bodies are `google.api.HttpBody`, so that an image goes through the
//! gateway as it is, with its content type.
//!
//! An avatar belongs to its user: setting one for a missing user is
//! `NOT_FOUND`, and deleting the user deletes it.

use tonic::Status;

use super::store::id_key;
use super::ExampleState;
use crate::pb::examples::v1::{AvatarInfo, GetAvatarRequest, SetAvatarRequest};
use crate::pb::google::api::HttpBody;

impl ExampleState {
    /// Stores the request's avatar for its user, replacing any earlier one.
    pub(super) fn set_avatar(&self, request: SetAvatarRequest) -> Result<AvatarInfo, Status> {
        let key = id_key(&request.user_id, "user_id")?;
        let avatar = request.avatar.unwrap_or_default();
        if avatar.data.is_empty() {
            return Err(Status::invalid_argument("the avatar is empty"));
        }
        let info = AvatarInfo {
            user_id: request.user_id.clone(),
            content_type: avatar.content_type.clone(),
            size: i64::try_from(avatar.data.len()).unwrap_or(i64::MAX),
        };
        let mut store = self.lock();
        if !store.users.contains_key(&key) {
            return Err(Status::not_found(format!(
                "user {} not found",
                request.user_id
            )));
        }
        store.avatars.insert(key, avatar);
        Ok(info)
    }

    /// The avatar of the request's user, as it was set.
    pub(super) fn get_avatar(&self, request: &GetAvatarRequest) -> Result<HttpBody, Status> {
        let key = id_key(&request.user_id, "user_id")?;
        let store = self.lock();
        if let Some(avatar) = store.avatars.get(&key) {
            return Ok(avatar.clone());
        }
        let missing = if store.users.contains_key(&key) {
            "has no avatar"
        } else {
            "not found"
        };
        Err(Status::not_found(format!(
            "user {} {missing}",
            request.user_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::examples::v1::user_service_server::UserService;
    use crate::pb::examples::v1::{CreateUserRequest, DeleteUserRequest, User};

    async fn state_with_user() -> (ExampleState, String) {
        let state = ExampleState::new();
        let user = UserService::create_user(
            &state,
            tonic::Request::new(CreateUserRequest {
                user: Some(User {
                    display_name: "Ada".into(),
                    ..User::default()
                }),
            }),
        )
        .await
        .expect("create")
        .into_inner();
        (state, user.user_id)
    }

    fn png(user_id: &str) -> SetAvatarRequest {
        SetAvatarRequest {
            user_id: user_id.to_owned(),
            avatar: Some(HttpBody {
                content_type: "image/png".into(),
                data: vec![0x89, b'P', b'N', b'G', 0, 0xff],
                extensions: Vec::new(),
            }),
        }
    }

    #[tokio::test]
    async fn an_avatar_comes_back_as_set_and_goes_with_its_user() {
        let (state, id) = state_with_user().await;
        let info = state.set_avatar(png(&id)).expect("set");
        assert_eq!((info.content_type.as_str(), info.size), ("image/png", 6));
        let request = GetAvatarRequest {
            user_id: id.clone(),
        };
        assert_eq!(
            state.get_avatar(&request).expect("get"),
            png(&id).avatar.expect("avatar")
        );
        UserService::delete_user(
            &state,
            tonic::Request::new(DeleteUserRequest { user_id: id }),
        )
        .await
        .expect("delete");
        assert!(state.lock().avatars.is_empty());
        assert_eq!(
            state.get_avatar(&request).map_err(|s| s.code()),
            Err(tonic::Code::NotFound)
        );
    }

    #[tokio::test]
    async fn no_avatar_for_a_missing_user_or_an_empty_body() {
        let (state, id) = state_with_user().await;
        let missing = state.set_avatar(png("404")).map_err(|s| s.code());
        assert_eq!(missing, Err(tonic::Code::NotFound));
        let mut empty = png(&id);
        empty.avatar = None;
        let empty = state.set_avatar(empty).map_err(|s| s.code());
        assert_eq!(empty, Err(tonic::Code::InvalidArgument));
        let none = state.get_avatar(&GetAvatarRequest { user_id: id });
        assert!(none.is_err_and(|s| s.message().contains("has no avatar")));
    }
}
