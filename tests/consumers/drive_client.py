"""Drives a client that openapi-python-client generated from the demo's
/openapi.json against the live demo, as a user of that client would.

Usage: drive_client.py BASE_URL PACKAGE_DIR
  BASE_URL     the demo gateway, e.g. http://127.0.0.1:8080
  PACKAGE_DIR  the generated package (its parent goes on sys.path)

Prints one `ok: ...` line per step and exits 0, or fails an assertion.
"""

import importlib
import pathlib
import sys


def main() -> None:
    base_url, package_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    sys.path.insert(0, str(package_dir.parent))
    name = package_dir.name

    def load(module: str):
        return importlib.import_module(f"{name}.{module}")

    client = load("client").Client(base_url=base_url, raise_on_unexpected_status=True)
    users = "api.user_service.user_service_"
    create_user = load(users + "create_user")
    get_user = load(users + "get_user")
    replace_user = load(users + "replace_user")
    list_users = load(users + "list_users")
    create_account = load("api.account_service.account_service_create_account")
    blogs = "api.blog_service.blog_service_"
    create_blog = load(blogs + "create_blog")
    create_post = load(blogs + "create_post")
    get_post = load(blogs + "get_post")
    User = load("models.examples_v1_user").ExamplesV1User
    Role = load("models.examples_v1_role").ExamplesV1Role
    Account = load("models.examples_v1_account").ExamplesV1Account
    Blog = load("models.examples_v1_blog").ExamplesV1Blog
    Post = load("models.examples_v1_post").ExamplesV1Post
    Status = load("models.status").Status

    # create: 201, Location read from the response, the body a User.
    created = create_user.sync_detailed(
        client=client, body=User(display_name="Ada", role=Role.ROLE_WRITER)
    )
    assert created.status_code == 201, created
    location = created.headers["location"]
    user = created.parsed
    assert isinstance(user, User), user
    assert location == f"/v1/users/{user.user_id}", (location, user.user_id)
    assert user.role == Role.ROLE_WRITER, user.role
    print(f"ok: create 201, Location {location}")

    # get, by the id the Location names.
    user_id = location.rsplit("/", 1)[1]
    got = get_user.sync_detailed(user_id, client=client)
    assert got.status_code == 200 and isinstance(got.parsed, User), got
    assert got.parsed.display_name == "Ada", got.parsed
    print("ok: get 200")

    # replace: the whole new state, under the URI's id.
    replaced = replace_user.sync_detailed(
        user_id,
        client=client,
        body=User(display_name="Ada King", role=Role.ROLE_ADMIN, tags=["math"]),
    )
    assert replaced.status_code == 200 and isinstance(replaced.parsed, User), replaced
    assert replaced.parsed.display_name == "Ada King", replaced.parsed
    assert replaced.parsed.role == Role.ROLE_ADMIN, replaced.parsed
    print("ok: replace 200")

    # list: the replaced user is in it.
    listed = list_users.sync_detailed(client=client, page_size=10)
    assert listed.status_code == 200, listed
    names = [u.display_name for u in listed.parsed.users]
    assert "Ada King" in names, names
    print("ok: list 200")

    # an account under the user: 201 and its own Location.
    account = create_account.sync_detailed(
        user_id, client=client, body=Account(display_name="Savings")
    )
    assert account.status_code == 201 and isinstance(account.parsed, Account), account
    assert account.headers["location"] == (
        f"/v1/users/{user_id}/accounts/{account.parsed.account_id}"
    ), account.headers
    print(f"ok: create account 201, Location {account.headers['location']}")

    # a post by its multi-segment name, through the expanded parameters.
    blog = create_blog.sync_detailed(client=client, body=Blog(title="Notes"))
    assert blog.status_code == 201, blog
    blog_id = blog.parsed.blog_id
    post = create_post.sync_detailed(
        blog_id, client=client, body=Post(title="First", body="Hello")
    )
    assert post.status_code == 201 and isinstance(post.parsed, Post), post
    post_name = post.parsed.name
    _, b, _, post_id = post_name.split("/")
    assert b == blog_id, post_name
    fetched = get_post.sync_detailed(blog_id, post_id, client=client)
    assert fetched.status_code == 200 and isinstance(fetched.parsed, Post), fetched
    assert fetched.parsed.name == post_name and fetched.parsed.title == "First"
    print(f"ok: get post {post_name} 200")

    # a 404 parses as Status.
    missing = get_user.sync_detailed("no-such-user", client=client)
    assert missing.status_code == 404, missing
    assert isinstance(missing.parsed, Status), missing.parsed
    assert missing.parsed.code == 5 and "not found" in missing.parsed.message, missing.parsed
    print("ok: 404 is a Status")


if __name__ == "__main__":
    main()
