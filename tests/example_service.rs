//! The bundled example service over real gRPC: each test serves
//! `restgate::example::serve` on a loopback port of its own and talks to it
//! with the generated tonic clients.

use std::collections::HashMap;

use prost_types::FieldMask;
use restgate::pb::examples::v1::account_service_client::AccountServiceClient;
use restgate::pb::examples::v1::blog_service_client::BlogServiceClient;
use restgate::pb::examples::v1::post::State;
use restgate::pb::examples::v1::user_service_client::UserServiceClient;
use restgate::pb::examples::v1::{
    Account, AccountType, Address, Blog, CreateAccountRequest, CreateBlogRequest,
    CreatePostRequest, CreateUserRequest, DeleteUserRequest, GetAccountRequest, GetBlogRequest,
    GetPostRequest, GetUserRequest, ListAccountsRequest, ListPostsRequest, ListUsersRequest, Post,
    PublishPostRequest, ReplaceAccountRequest, ReplaceBlogRequest, ReplaceUserRequest, Role,
    UpdateUserRequest, User,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running example server and clients connected to it. Dropping it stops
/// the server.
struct Harness {
    users: UserServiceClient<Channel>,
    accounts: AccountServiceClient<Channel>,
    blogs: BlogServiceClient<Channel>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

async fn start() -> Result<Harness, Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(restgate::example::serve(listener, async {
        let _ = stopped.await;
    }));
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    Ok(Harness {
        users: UserServiceClient::new(channel.clone()),
        accounts: AccountServiceClient::new(channel.clone()),
        blogs: BlogServiceClient::new(channel),
        stop: Some(stop),
        server,
    })
}

fn user(name: &str, role: Role, tags: &[&str]) -> User {
    User {
        display_name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        role: role.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..User::default()
    }
}

async fn create_user(h: &mut Harness, user: User) -> Result<User, tonic::Status> {
    let request = CreateUserRequest { user: Some(user) };
    Ok(h.users.create_user(request).await?.into_inner())
}

#[tokio::test]
async fn create_assigns_distinct_ids_and_service_fields() -> TestResult {
    let mut h = start().await?;
    let mut sent = user("Ada", Role::Admin, &["math"]);
    sent.user_id = "999".into();
    sent.etag = "client-etag".into();
    let ada = create_user(&mut h, sent).await?;
    let bob = create_user(&mut h, user("Bob", Role::Reader, &[])).await?;

    assert_eq!(ada.user_id, "1");
    assert_eq!(bob.user_id, "2");
    assert_eq!(ada.display_name, "Ada");
    assert_eq!(ada.role, i32::from(Role::Admin));
    assert!(ada.create_time.is_some());
    assert_eq!(ada.create_time, ada.update_time);
    assert!(!ada.etag.is_empty());
    assert_ne!(ada.etag, "client-etag");
    assert_ne!(ada.etag, bob.etag);

    let got = h
        .users
        .get_user(GetUserRequest {
            user_id: "1".into(),
        })
        .await?
        .into_inner();
    assert_eq!(got, ada);

    let status = h
        .users
        .create_user(CreateUserRequest { user: None })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn replace_upserts_and_keeps_the_path_id() -> TestResult {
    let mut h = start().await?;
    let mut body = user("Cy", Role::Writer, &[]);
    body.user_id = "not-the-path-id".into();
    let created = h
        .users
        .replace_user(ReplaceUserRequest {
            user_id: "7".into(),
            user: Some(body),
        })
        .await?
        .into_inner();
    assert_eq!(created.user_id, "7");
    assert_eq!(created.display_name, "Cy");

    let replaced = h
        .users
        .replace_user(ReplaceUserRequest {
            user_id: "7".into(),
            user: Some(user("Cyrus", Role::Reader, &["x"])),
        })
        .await?
        .into_inner();
    assert_eq!(replaced.user_id, "7");
    assert_eq!(replaced.display_name, "Cyrus");
    assert_eq!(replaced.role, i32::from(Role::Reader));
    assert_eq!(replaced.create_time, created.create_time);
    assert_ne!(replaced.etag, created.etag);

    let got = h
        .users
        .get_user(GetUserRequest {
            user_id: "7".into(),
        })
        .await?
        .into_inner();
    assert_eq!(got, replaced);

    // Counter-assigned ids never collide with ids a replace chose.
    for expected in ["1", "2", "3", "4", "5", "6", "8"] {
        let user = create_user(&mut h, user("N", Role::Reader, &[])).await?;
        assert_eq!(user.user_id, expected);
    }
    Ok(())
}

#[tokio::test]
async fn missing_items_are_not_found() -> TestResult {
    let mut h = start().await?;
    let status = h
        .users
        .get_user(GetUserRequest {
            user_id: "42".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "user 42 not found");

    let status = h
        .accounts
        .create_account(CreateAccountRequest {
            user_id: "42".into(),
            account: Some(Account::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = h
        .accounts
        .replace_account(ReplaceAccountRequest {
            user_id: "42".into(),
            account_id: "1".into(),
            account: Some(Account::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = h
        .users
        .delete_user(DeleteUserRequest {
            user_id: "42".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = h
        .blogs
        .get_blog(GetBlogRequest {
            blog_id: "3".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    Ok(())
}

#[tokio::test]
async fn list_pages_in_numeric_id_order() -> TestResult {
    let mut h = start().await?;
    for i in 1..=12 {
        create_user(&mut h, user(&format!("U{i}"), Role::Reader, &[])).await?;
    }
    let mut ids = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = h
            .users
            .list_users(ListUsersRequest {
                page_size: 5,
                page_token: page_token.clone(),
                ..ListUsersRequest::default()
            })
            .await?
            .into_inner();
        pages += 1;
        assert!(page.users.len() <= 5);
        ids.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=12).map(|i| i.to_string()).collect();
    assert_eq!(ids, expected);

    let all = h
        .users
        .list_users(ListUsersRequest::default())
        .await?
        .into_inner();
    assert_eq!(all.users.len(), 12);
    assert_eq!(all.next_page_token, "");

    let status = h
        .users
        .list_users(ListUsersRequest {
            page_size: -1,
            ..ListUsersRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn list_filters_by_role_and_every_tag() -> TestResult {
    let mut h = start().await?;
    create_user(&mut h, user("A", Role::Admin, &["red", "blue"])).await?;
    create_user(&mut h, user("B", Role::Reader, &["red"])).await?;
    create_user(&mut h, user("C", Role::Admin, &["red"])).await?;
    create_user(&mut h, user("D", Role::Admin, &["blue", "red", "green"])).await?;

    let names =
        |users: Vec<User>| -> Vec<String> { users.into_iter().map(|u| u.display_name).collect() };
    let admins = h
        .users
        .list_users(ListUsersRequest {
            role: Role::Admin.into(),
            ..ListUsersRequest::default()
        })
        .await?
        .into_inner();
    assert_eq!(names(admins.users), ["A", "C", "D"]);

    let red_and_blue = h
        .users
        .list_users(ListUsersRequest {
            tag: vec!["red".into(), "blue".into()],
            ..ListUsersRequest::default()
        })
        .await?
        .into_inner();
    assert_eq!(names(red_and_blue.users), ["A", "D"]);

    let green_admins = h
        .users
        .list_users(ListUsersRequest {
            role: Role::Admin.into(),
            tag: vec!["green".into()],
            ..ListUsersRequest::default()
        })
        .await?
        .into_inner();
    assert_eq!(names(green_admins.users), ["D"]);

    // Filters apply before paging: one admin per page.
    let first = h
        .users
        .list_users(ListUsersRequest {
            page_size: 1,
            role: Role::Admin.into(),
            ..ListUsersRequest::default()
        })
        .await?
        .into_inner();
    assert_eq!(names(first.users), ["A"]);
    let second = h
        .users
        .list_users(ListUsersRequest {
            page_size: 1,
            page_token: first.next_page_token,
            role: Role::Admin.into(),
            ..ListUsersRequest::default()
        })
        .await?
        .into_inner();
    assert_eq!(names(second.users), ["C"]);
    Ok(())
}

#[tokio::test]
async fn update_writes_only_the_masked_fields() -> TestResult {
    let mut h = start().await?;
    let mut ada = user("Ada", Role::Writer, &["math"]);
    ada.karma = 10;
    ada.labels = HashMap::from([("team".to_owned(), "core".to_owned())]);
    ada.address = Some(Address {
        street: "1 Main St".into(),
        city: "London".into(),
        country: "GB".into(),
    });
    let before = create_user(&mut h, ada).await?;

    let patch = User {
        display_name: "Ignored".into(),
        email: "ada@new.example".into(),
        karma: 0,
        address: Some(Address {
            city: "Paris".into(),
            ..Address::default()
        }),
        ..User::default()
    };
    let after = h
        .users
        .update_user(UpdateUserRequest {
            user_id: before.user_id.clone(),
            user: Some(patch.clone()),
            update_mask: Some(FieldMask {
                paths: vec!["email".into(), "karma".into(), "address.city".into()],
            }),
        })
        .await?
        .into_inner();
    assert_eq!(after.email, "ada@new.example");
    assert_eq!(after.karma, 0);
    assert_eq!(after.display_name, "Ada");
    assert_eq!(after.role, i32::from(Role::Writer));
    assert_eq!(after.tags, ["math"]);
    assert_eq!(after.labels, before.labels);
    let address = after.address.clone().unwrap_or_default();
    assert_eq!(address.city, "Paris");
    assert_eq!(address.street, "1 Main St");
    assert_eq!(address.country, "GB");
    assert_eq!(after.create_time, before.create_time);
    assert_ne!(after.etag, before.etag);

    // An unknown path fails and writes nothing.
    let status = h
        .users
        .update_user(UpdateUserRequest {
            user_id: before.user_id.clone(),
            user: Some(patch.clone()),
            update_mask: Some(FieldMask {
                paths: vec!["display_name".into(), "shoe_size".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let unchanged = h
        .users
        .get_user(GetUserRequest {
            user_id: before.user_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(unchanged, after);

    // Without a mask, the non-default fields of the patch are written.
    let merged = h
        .users
        .update_user(UpdateUserRequest {
            user_id: before.user_id.clone(),
            user: Some(patch),
            update_mask: None,
        })
        .await?
        .into_inner();
    assert_eq!(merged.display_name, "Ignored");
    assert_eq!(merged.tags, ["math"]);
    assert_eq!(merged.address.unwrap_or_default().street, "1 Main St");

    let status = h
        .users
        .update_user(UpdateUserRequest {
            user_id: "77".into(),
            user: Some(User::default()),
            update_mask: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    Ok(())
}

#[tokio::test]
async fn accounts_live_under_users_and_die_with_them() -> TestResult {
    let mut h = start().await?;
    let ada = create_user(&mut h, user("Ada", Role::Admin, &[])).await?;
    let bob = create_user(&mut h, user("Bob", Role::Admin, &[])).await?;
    let checking = h
        .accounts
        .create_account(CreateAccountRequest {
            user_id: ada.user_id.clone(),
            account: Some(Account {
                user_id: "someone-else".into(),
                display_name: "Checking".into(),
                r#type: AccountType::Checking.into(),
                balance_cents: 1_000,
                ..Account::default()
            }),
        })
        .await?
        .into_inner();
    assert_eq!(checking.account_id, "1");
    assert_eq!(checking.user_id, ada.user_id);
    assert!(checking.create_time.is_some());

    let savings = h
        .accounts
        .replace_account(ReplaceAccountRequest {
            user_id: ada.user_id.clone(),
            account_id: "s1".into(),
            account: Some(Account {
                account_id: "ignored".into(),
                display_name: "Savings".into(),
                r#type: AccountType::Savings.into(),
                ..Account::default()
            }),
        })
        .await?
        .into_inner();
    assert_eq!(
        (savings.user_id.as_str(), savings.account_id.as_str()),
        (ada.user_id.as_str(), "s1")
    );
    h.accounts
        .create_account(CreateAccountRequest {
            user_id: bob.user_id.clone(),
            account: Some(Account::default()),
        })
        .await?;

    let listed = h
        .accounts
        .list_accounts(ListAccountsRequest {
            user_id: ada.user_id.clone(),
        })
        .await?
        .into_inner();
    let ids: Vec<_> = listed
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(ids, ["1", "s1"]);

    h.users
        .delete_user(DeleteUserRequest {
            user_id: ada.user_id.clone(),
        })
        .await?;
    let status = h
        .accounts
        .get_account(GetAccountRequest {
            user_id: ada.user_id.clone(),
            account_id: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // Recreating the user does not bring the accounts back.
    h.users
        .replace_user(ReplaceUserRequest {
            user_id: ada.user_id.clone(),
            user: Some(User::default()),
        })
        .await?;
    let listed = h
        .accounts
        .list_accounts(ListAccountsRequest {
            user_id: ada.user_id.clone(),
        })
        .await?
        .into_inner();
    assert!(listed.accounts.is_empty());
    // Other users keep theirs.
    let listed = h
        .accounts
        .list_accounts(ListAccountsRequest {
            user_id: bob.user_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(listed.accounts.len(), 1);
    Ok(())
}

#[tokio::test]
async fn blogs_and_posts() -> TestResult {
    let mut h = start().await?;
    let blog = h
        .blogs
        .create_blog(CreateBlogRequest {
            blog: Some(Blog {
                title: "Notes".into(),
                name: "blogs/elsewhere".into(),
                ..Blog::default()
            }),
        })
        .await?
        .into_inner();
    assert_eq!(blog.blog_id, "1");
    assert_eq!(blog.name, "blogs/1");

    let replaced = h
        .blogs
        .replace_blog(ReplaceBlogRequest {
            blog_id: "news".into(),
            blog: Some(Blog {
                blog_id: "other".into(),
                title: "News".into(),
                ..Blog::default()
            }),
        })
        .await?
        .into_inner();
    assert_eq!(
        (replaced.blog_id.as_str(), replaced.name.as_str()),
        ("news", "blogs/news")
    );

    let post = h
        .blogs
        .create_post(CreatePostRequest {
            parent: blog.name.clone(),
            post: Some(Post {
                name: "ignored".into(),
                title: "Hello".into(),
                body: "First post.".into(),
                state: State::Published.into(),
                ..Post::default()
            }),
        })
        .await?
        .into_inner();
    assert_eq!(post.name, "blogs/1/posts/1");
    assert_eq!(post.state, i32::from(State::Draft));
    assert_eq!(post.publish_time, None);

    let got = h
        .blogs
        .get_post(GetPostRequest {
            name: post.name.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(got, post);

    let listed = h
        .blogs
        .list_posts(ListPostsRequest {
            parent: "blogs/1".into(),
        })
        .await?
        .into_inner();
    assert_eq!(listed.posts, std::slice::from_ref(&post));
    let listed = h
        .blogs
        .list_posts(ListPostsRequest {
            parent: "blogs/news".into(),
        })
        .await?
        .into_inner();
    assert!(listed.posts.is_empty());

    let published = h
        .blogs
        .publish_post(PublishPostRequest {
            name: post.name.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(published.state, i32::from(State::Published));
    assert!(published.publish_time.is_some());
    let status = h
        .blogs
        .publish_post(PublishPostRequest {
            name: post.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    let status = h
        .blogs
        .get_post(GetPostRequest {
            name: "blogs/1/posts/99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = h
        .blogs
        .create_post(CreatePostRequest {
            parent: "blogs/9".into(),
            post: Some(Post::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = h
        .blogs
        .create_post(CreatePostRequest {
            parent: "shelves/1".into(),
            post: Some(Post::default()),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    Ok(())
}

#[tokio::test]
async fn serve_returns_after_shutdown() -> TestResult {
    let mut h = start().await?;
    create_user(&mut h, user("Ada", Role::Admin, &[])).await?;
    if let Some(stop) = h.stop.take() {
        let _ = stop.send(());
    }
    h.server.await??;
    Ok(())
}
