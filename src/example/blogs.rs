//! `BlogService`: blogs, addressed by id, and their posts, addressed by
//! resource name (`blogs/{blog_id}/posts/{post_id}`).

use tonic::{Request, Response, Status};

use super::store::{
    check_preconditions, children, id_key, now, replaced, required, IdKey, Kind, Store,
};
use super::ExampleState;
use crate::pb::examples::v1::blog_service_server::BlogService;
use crate::pb::examples::v1::post::State;
use crate::pb::examples::v1::{
    Blog, CreateBlogRequest, CreatePostRequest, GetBlogRequest, GetPostRequest, ListPostsRequest,
    ListPostsResponse, Post, PublishPostRequest, ReplaceBlogRequest,
};

/// The resource name of blog `blog_id`.
fn blog_name(blog_id: &str) -> String {
    format!("blogs/{blog_id}")
}

/// The key of the existing blog named by `parent` (`blogs/{blog_id}`):
/// INVALID_ARGUMENT when `parent` is malformed, NOT_FOUND when the blog
/// does not exist.
fn parent_blog(store: &Store, parent: &str) -> Result<IdKey, Status> {
    let key = match parent.strip_prefix("blogs/") {
        Some(blog_id) if !blog_id.is_empty() && !blog_id.contains('/') => IdKey::new(blog_id),
        _ => {
            return Err(Status::invalid_argument(format!(
                "parent must look like blogs/{{blog_id}}, got {parent:?}"
            )))
        }
    };
    if store.blogs.contains_key(&key) {
        Ok(key)
    } else {
        Err(Status::not_found(format!("blog {parent} not found")))
    }
}

/// The store key of the post named `name` (`blogs/{blog_id}/posts/{post_id}`),
/// or INVALID_ARGUMENT when `name` is malformed.
fn post_key(name: &str) -> Result<(IdKey, IdKey), Status> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["blogs", blog_id, "posts", post_id] if !blog_id.is_empty() && !post_id.is_empty() => {
            Ok((IdKey::new(blog_id), IdKey::new(post_id)))
        }
        _ => Err(Status::invalid_argument(format!(
            "name must look like blogs/{{blog_id}}/posts/{{post_id}}, got {name:?}"
        ))),
    }
}

fn post_not_found(name: &str) -> Status {
    Status::not_found(format!("post {name} not found"))
}

#[tonic::async_trait]
impl BlogService for ExampleState {
    async fn create_blog(
        &self,
        request: Request<CreateBlogRequest>,
    ) -> Result<Response<Blog>, Status> {
        let mut blog = required(request.into_inner().blog, "blog")?;
        let mut store = self.lock();
        let blog_id = store.next_id(Kind::Blog, |s, k| s.blogs.contains_key(k));
        blog.name = blog_name(&blog_id);
        blog.blog_id.clone_from(&blog_id);
        blog.create_time = Some(now());
        blog.etag = store.etag();
        store.blogs.insert(IdKey::new(&blog_id), blog.clone());
        Ok(Response::new(blog))
    }

    async fn replace_blog(
        &self,
        request: Request<ReplaceBlogRequest>,
    ) -> Result<Response<Blog>, Status> {
        let (metadata, _, request) = request.into_parts();
        let key = id_key(&request.blog_id, "blog_id")?;
        let mut blog = required(request.blog, "blog")?;
        let mut store = self.lock();
        let old = store.blogs.get(&key);
        check_preconditions(old.map(|b| b.etag.as_str()), &blog.etag, &metadata)?;
        let created = old.is_none();
        blog.create_time = match old {
            Some(old) => old.create_time,
            None => Some(now()),
        };
        blog.name = blog_name(&request.blog_id);
        blog.blog_id = request.blog_id;
        blog.etag = store.etag();
        store.blogs.insert(key, blog.clone());
        Ok(replaced(blog, created))
    }

    async fn get_blog(&self, request: Request<GetBlogRequest>) -> Result<Response<Blog>, Status> {
        let blog_id = request.into_inner().blog_id;
        let key = id_key(&blog_id, "blog_id")?;
        let store = self.lock();
        let blog = store
            .blogs
            .get(&key)
            .ok_or_else(|| Status::not_found(format!("blog {blog_id} not found")))?;
        Ok(Response::new(blog.clone()))
    }

    async fn create_post(
        &self,
        request: Request<CreatePostRequest>,
    ) -> Result<Response<Post>, Status> {
        let request = request.into_inner();
        let mut post = required(request.post, "post")?;
        let mut store = self.lock();
        let blog = parent_blog(&store, &request.parent)?;
        let post_id = store.next_id(Kind::Post, |s, k| {
            s.posts.contains_key(&(blog.clone(), k.clone()))
        });
        post.name = format!("{}/posts/{post_id}", request.parent);
        post.state = State::Draft.into();
        post.publish_time = None;
        store
            .posts
            .insert((blog, IdKey::new(&post_id)), post.clone());
        Ok(Response::new(post))
    }

    async fn get_post(&self, request: Request<GetPostRequest>) -> Result<Response<Post>, Status> {
        let name = request.into_inner().name;
        let key = post_key(&name)?;
        let store = self.lock();
        let post = store.posts.get(&key).ok_or_else(|| post_not_found(&name))?;
        Ok(Response::new(post.clone()))
    }

    async fn list_posts(
        &self,
        request: Request<ListPostsRequest>,
    ) -> Result<Response<ListPostsResponse>, Status> {
        let parent = request.into_inner().parent;
        let store = self.lock();
        let blog = parent_blog(&store, &parent)?;
        let posts = children(&store.posts, &blog).cloned().collect();
        Ok(Response::new(ListPostsResponse { posts }))
    }

    async fn publish_post(
        &self,
        request: Request<PublishPostRequest>,
    ) -> Result<Response<Post>, Status> {
        let name = request.into_inner().name;
        let key = post_key(&name)?;
        let mut store = self.lock();
        let post = store
            .posts
            .get_mut(&key)
            .ok_or_else(|| post_not_found(&name))?;
        if post.state == i32::from(State::Published) {
            return Err(Status::failed_precondition(format!(
                "post {name} is already published"
            )));
        }
        post.state = State::Published.into();
        post.publish_time = Some(now());
        Ok(Response::new(post.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_names_parse_into_keys() {
        let key = post_key("blogs/1/posts/22").unwrap();
        assert_eq!(key, (IdKey::new("1"), IdKey::new("22")));
        for bad in [
            "",
            "blogs/1",
            "blogs//posts/2",
            "blog/1/posts/2",
            "blogs/1/posts/2/x",
        ] {
            let status = post_key(bad).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn malformed_parents_are_invalid_and_missing_blogs_not_found() {
        let store = Store::default();
        for bad in ["", "blogs/", "blogs/1/x", "users/1"] {
            let status = parent_blog(&store, bad).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{bad}");
        }
        let status = parent_blog(&store, "blogs/1").unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound);
    }
}
