//! The dashboard: its static files, embedded in the binary, and how they are served.
//!
//! `GET /ui/` is the page, `/ui/app.js`, `/ui/app.css` and `/ui/favicon.svg` its script,
//! style sheet and icon; `/` and `/ui` redirect (308) to `/ui/`. None of them holds data:
//! the page reads the JSON API with the user's token, so they are public (see
//! [`crate::auth::filter::PUBLIC_PATHS`]). Every answer under these paths carries a
//! Content-Security-Policy that allows only this origin's script, style and API (no
//! inline script or style), `nosniff` and `no-referrer`. The page is revalidated on every
//! load (`no-cache`); the other files are cached for five minutes. Each file has a strong
//! `ETag` (a digest of its bytes), so a revalidation answers 304 without a body.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, HeaderValue,
    IF_NONE_MATCH, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

/// The policy of every dashboard answer: this origin's files and API only, nothing inline.
pub(crate) const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Where `/` and `/ui` send the browser.
const PAGE_PATH: &str = "/ui/";

/// The page: revalidated on every load, so a new binary's page is seen at once.
const REVALIDATE: &str = "no-cache";
/// The script, style sheet and icon: the page names them without a version, so they are
/// cached briefly and revalidated by their `ETag` after that.
const SHORT_CACHE: &str = "public, max-age=300";

/// One embedded file.
#[derive(Debug)]
struct Asset {
    /// The path it is served at.
    path: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
    bytes: &'static [u8],
}

/// Every file of the dashboard (`driftguard-api/ui/`), embedded at build time.
const ASSETS: [Asset; 4] = [
    Asset {
        path: "/ui/",
        content_type: "text/html; charset=utf-8",
        cache_control: REVALIDATE,
        bytes: include_bytes!("../ui/index.html"),
    },
    Asset {
        path: "/ui/app.js",
        content_type: "text/javascript; charset=utf-8",
        cache_control: SHORT_CACHE,
        bytes: include_bytes!("../ui/app.js"),
    },
    Asset {
        path: "/ui/app.css",
        content_type: "text/css; charset=utf-8",
        cache_control: SHORT_CACHE,
        bytes: include_bytes!("../ui/app.css"),
    },
    Asset {
        path: "/ui/favicon.svg",
        content_type: "image/svg+xml",
        cache_control: SHORT_CACHE,
        bytes: include_bytes!("../ui/favicon.svg"),
    },
];

/// The strong entity tag of each asset, in the order of [`ASSETS`]: a digest of its bytes,
/// so it changes exactly when the file does.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// What a dashboard path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `/` or `/ui`: a redirect to the page; the path itself.
    Redirect(&'static str),
    /// The asset of this index in [`ASSETS`].
    File(usize),
}

impl Target {
    fn of(path: &str) -> Option<Self> {
        match path {
            "/" => Some(Self::Redirect("/")),
            "/ui" => Some(Self::Redirect("/ui")),
            _ => ASSETS.iter().position(|a| a.path == path).map(Self::File),
        }
    }
}

/// A request for a dashboard path (`/`, `/ui`, or one of the files), with the entity tags
/// the browser already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UiRequest {
    target: Target,
    if_none_match: Option<String>,
}

/// Matches the dashboard's paths exactly; rejects (not found) every other path, so that
/// an unknown `/ui/…` path gets the API's usual 404.
pub(crate) fn request() -> BoxedFilter<(UiRequest,)> {
    warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            Target::of(path.as_str()).ok_or_else(warp::reject::not_found)
        })
        .and(warp::header::headers_cloned())
        .map(|target: Target, headers: HeaderMap| UiRequest {
            target,
            if_none_match: headers
                .get(IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
        .boxed()
}

impl UiRequest {
    /// The `route` label of the request's metrics: the path, one of a fixed few.
    pub(crate) fn template(&self) -> &'static str {
        match self.target {
            Target::Redirect(path) => path,
            Target::File(index) => ASSETS[index].path,
        }
    }

    /// The answer: a redirect, the file, or 304 when the browser's copy is current.
    pub(crate) fn answer(&self) -> Response {
        let mut response = match self.target {
            Target::Redirect(_) => {
                let mut response = Response::new(Vec::new().into());
                *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
                set(&mut response, LOCATION, PAGE_PATH);
                // Where `/` leads may change with a later version: never cache the redirect.
                set(&mut response, CACHE_CONTROL, REVALIDATE);
                response
            }
            Target::File(index) => {
                let asset = &ASSETS[index];
                let etag = ETAGS[index].as_str();
                let current = self
                    .if_none_match
                    .as_deref()
                    .is_some_and(|tags| matches_etag(tags, etag));
                let mut response = if current {
                    let mut response = Response::new(Vec::new().into());
                    *response.status_mut() = StatusCode::NOT_MODIFIED;
                    response
                } else {
                    let mut response = Response::new(asset.bytes.into());
                    set(&mut response, CONTENT_TYPE, asset.content_type);
                    response
                };
                set(&mut response, CACHE_CONTROL, asset.cache_control);
                set(&mut response, ETAG, etag);
                response
            }
        };
        harden(&mut response);
        response
    }
}

/// Whether `path` is the dashboard's (`/`, `/ui`, or under `/ui/`), known file or not: its
/// answers, a 404 or 405 included, carry the dashboard's security headers.
pub(crate) fn covers(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with("/ui/")
}

/// Adds the dashboard's security headers to `response`.
pub(crate) fn harden(response: &mut Response) {
    set(response, CONTENT_SECURITY_POLICY, POLICY);
    set(response, X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(response, REFERRER_POLICY, "no-referrer");
}

fn set(response: &mut Response, name: HeaderName, value: &'static str) {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as RFC 9110 asks for
/// this header), or is `*`.
fn matches_etag(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_file_of_the_ui_folder_is_embedded_and_they_are_small() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
        let served: BTreeSet<String> = std::fs::read_dir(folder)
            .expect("the ui folder is readable")
            .map(
                |entry| match entry.expect("a folder entry").file_name().to_string_lossy() {
                    name if name == "index.html" => "/ui/".to_owned(),
                    name => format!("/ui/{name}"),
                },
            )
            .collect();
        let embedded: BTreeSet<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        assert_eq!(served, embedded);
        let total: usize = ASSETS.iter().map(|a| a.bytes.len()).sum();
        assert!(total < 300 * 1024, "the dashboard is {total} bytes");
    }

    #[test]
    fn entity_tags_are_strong_distinct_and_matched_weakly() {
        let tags: BTreeSet<&String> = ETAGS.iter().collect();
        assert_eq!(tags.len(), ASSETS.len());
        let tag = ETAGS[1].as_str();
        assert!(tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/"));
        assert!(matches_etag(tag, tag));
        assert!(matches_etag(&format!("\"x\", W/{tag}"), tag));
        assert!(matches_etag("*", tag));
        assert!(!matches_etag("\"x\"", tag));
        assert!(!matches_etag("", tag));
    }

    #[test]
    fn only_the_dashboard_paths_are_targets() {
        assert_eq!(Target::of("/"), Some(Target::Redirect("/")));
        assert_eq!(Target::of("/ui"), Some(Target::Redirect("/ui")));
        assert_eq!(Target::of("/ui/"), Some(Target::File(0)));
        assert_eq!(Target::of("/ui/app.js"), Some(Target::File(1)));
        for path in ["/ui/index.html", "/ui/x", "/uix", "/ui//", "/ui/app.js/"] {
            assert_eq!(Target::of(path), None, "{path}");
        }
        assert!(covers("/ui/x") && covers("/") && covers("/ui") && !covers("/uix"));
    }
}
