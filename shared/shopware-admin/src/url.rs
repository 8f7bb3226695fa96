//! The shop's base URL as the registration gave it, and the Admin API endpoints under it.

use std::fmt;

use stammkunde_domain::error::ShopApiError;

/// A shop base URL we send credentials to: `https://host[:port][/path]`, or plain `http` to a
/// loopback host. No user info, query or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminUrl {
    /// Without a trailing slash.
    base: String,
}

impl AdminUrl {
    pub fn parse(shop_url: &str) -> Result<Self, ShopApiError> {
        let refused = |why: &str| ShopApiError::RefusedUrl(why.to_owned());
        let base = shop_url.trim().trim_end_matches('/');
        let uri: http::Uri = base.parse().map_err(|_| refused("not a URL"))?;
        let authority = uri.authority().ok_or_else(|| refused("no host"))?;
        if authority.as_str().contains('@') {
            return Err(refused("user info in the URL"));
        }
        if uri.query().is_some() || base.contains('#') {
            return Err(refused("a query or fragment in the URL"));
        }
        let loopback = matches!(authority.host(), "localhost" | "127.0.0.1" | "[::1]");
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            Some("http") => return Err(refused("plain http to a host that is not this machine")),
            _ => return Err(refused("not an http(s) URL")),
        }
        Ok(AdminUrl { base: base.to_owned() })
    }

    pub fn token(&self) -> http::Uri {
        self.endpoint("/api/oauth/token")
    }

    /// `/api/search/{entity}`; entity names are snake_case words (`customer`, `order_customer`).
    pub fn search(&self, entity: &str) -> Result<http::Uri, ShopApiError> {
        if entity.is_empty() || !entity.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(ShopApiError::RefusedUrl(format!("entity name {entity:?}")));
        }
        Ok(self.endpoint(&format!("/api/search/{}", entity.replace('_', "-"))))
    }

    fn endpoint(&self, path: &str) -> http::Uri {
        // The base parsed as a URI, and the path is ASCII without reserved characters.
        format!("{}{path}", self.base).parse().unwrap_or_default()
    }
}

impl fmt::Display for AdminUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_and_loopback_http_are_accepted_with_their_path() {
        let url = AdminUrl::parse("https://shop.example/sw/public/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.token().to_string(), "https://shop.example/sw/public/api/oauth/token");
        let search = url.search("order_customer").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(search.to_string(), "https://shop.example/sw/public/api/search/order-customer");
        assert!(AdminUrl::parse("http://127.0.0.1:8000").is_ok());
        assert!(AdminUrl::parse("http://localhost").is_ok());
    }

    #[test]
    fn credentials_never_go_in_clear_or_to_odd_urls() {
        for url in [
            "http://shop.example",
            "ftp://shop.example",
            "https://user:pw@shop.example",
            "https://shop.example/?x=1",
            "https://shop.example/#top",
            "shop.example",
            "",
            "http://localhost.evil.example",
        ] {
            assert!(AdminUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn only_entity_names_go_into_the_path() {
        let url = AdminUrl::parse("https://shop.example").unwrap_or_else(|e| panic!("{e}"));
        for entity in ["", "../oauth", "customer?x", "Customer"] {
            assert!(url.search(entity).is_err(), "{entity}");
        }
    }
}
