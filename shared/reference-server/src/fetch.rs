//! Fetching a file's bytes from the URL a `file-url` request names.
//!
//! The URL is usually presigned, which makes it a credential: it never appears in a log line
//! or an error message, and reqwest errors are stripped of it.
//!
//! A URL chosen by the caller is also a way into the server's own network (server-side
//! request forgery): by default only public addresses are fetched. The host is resolved
//! once, every address it resolves to is checked, and the connection goes to the checked
//! address (no second lookup that DNS rebinding could answer differently); redirects are
//! not followed, since a redirect could point anywhere.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Which addresses a file URL may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FetchScope {
    /// Public addresses only: never loopback, private (RFC 1918, unique local), shared
    /// (100.64/10), link-local (169.254/16, where cloud metadata services answer, and
    /// fe80::/10), unspecified, broadcast or multicast ones. What production servers must do.
    #[default]
    PublicOnly,
    /// Any address, for a server and its storage on one machine or one private network (a
    /// local stack, tests).
    AnyAddress,
}

/// Why an address is not fetched under [`FetchScope::PublicOnly`], or `None` if it is public.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address (cloud metadata services answer there)")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (carrier-grade NAT) address")
            } else if v4.is_unspecified() || a == 0 {
                Some("an unspecified address")
            } else if v4.is_broadcast() || v4.is_multicast() {
                Some("a broadcast or multicast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("an unspecified address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private (unique local) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}

/// Why the bytes could not be fetched or were not what the request declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the file URL is not a URL")]
    NotAUrl,
    #[error("the file URL's scheme is {0:?}; only http and https are fetched")]
    Scheme(String),
    /// The host answered with an error status; 4xx will not change on a retry (an expired
    /// URL), 5xx may.
    #[error("fetching the file URL answered {0}")]
    Status(u16),
    #[error("fetching the file URL failed: {0}")]
    Transport(String),
    #[error("the file at the URL is larger than the {declared} bytes declared")]
    TooLarge { declared: u64 },
    #[error("the file at the URL has {actual} bytes, not the {declared} declared")]
    Size { declared: u64, actual: u64 },
    /// The URL's host is, or resolves to, an address the server does not fetch.
    #[error("the file URL's host is {what} ({address}); this server fetches only public addresses")]
    Forbidden { address: IpAddr, what: &'static str },
    #[error("fetching the file URL answered a redirect ({0}), which is not followed")]
    Redirect(u16),
}

/// Fetches at most `declared` bytes (and at most `max_bytes`) from `location`, over http or
/// https, within `timeout`, from an address `scope` allows. The body is read as it streams
/// and the fetch stops as soon as it passes the declared size, so a wrong or hostile URL
/// cannot fill the server's memory.
pub async fn fetch(
    location: &str,
    declared: u64,
    max_bytes: u64,
    timeout: Duration,
    scope: FetchScope,
) -> Result<Vec<u8>, FetchError> {
    let url = url::Url::parse(location).map_err(|_| FetchError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(url.scheme().to_owned()));
    }
    if declared > max_bytes {
        return Err(FetchError::TooLarge { declared });
    }
    let transport = |error: reqwest::Error| FetchError::Transport(error.without_url().to_string());
    let work = async {
        let port = url.port_or_known_default().ok_or(FetchError::NotAUrl)?;
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        match url.host().ok_or(FetchError::NotAUrl)? {
            url::Host::Ipv4(v4) => check(IpAddr::V4(v4), scope)?,
            url::Host::Ipv6(v6) => check(IpAddr::V6(v6), scope)?,
            url::Host::Domain(domain) => {
                // One lookup; every address checked (a name with one private address among
                // public ones is refused); the client connects to the checked one only.
                let addresses: Vec<SocketAddr> = tokio::net::lookup_host((domain, port))
                    .await
                    .map_err(|error| {
                        FetchError::Transport(format!(
                            "the file URL's host does not resolve ({error})"
                        ))
                    })?
                    .collect();
                for address in &addresses {
                    check(address.ip(), scope)?;
                }
                let first = addresses.first().ok_or_else(|| {
                    FetchError::Transport("the file URL's host resolves to no address".to_owned())
                })?;
                builder = builder.resolve(domain, *first);
            }
        }
        let http = builder.build().map_err(transport)?;
        let response = http.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect(status.as_u16()));
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let capacity = usize::try_from(declared).unwrap_or(0).min(16 * 1024 * 1024);
        let mut bytes = Vec::with_capacity(capacity);
        let mut response = response;
        while let Some(piece) = response.chunk().await.map_err(transport)? {
            if (bytes.len() + piece.len()) as u64 > declared {
                return Err(FetchError::TooLarge { declared });
            }
            bytes.extend_from_slice(&piece);
        }
        Ok(bytes)
    };
    let bytes = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| FetchError::Transport(format!("no complete answer within {timeout:?}")))??;
    if bytes.len() as u64 != declared {
        return Err(FetchError::Size {
            declared,
            actual: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn check(address: IpAddr, scope: FetchScope) -> Result<(), FetchError> {
    match (scope, non_public(address)) {
        (FetchScope::PublicOnly, Some(what)) => Err(FetchError::Forbidden { address, what }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for (address, public) in [
            ("93.184.216.34", true),
            ("2606:2800:220:1:248:1893:25c8:1946", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fd00:ec2::254", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
        ] {
            let address: IpAddr = address.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            assert_eq!(non_public(address).is_none(), public, "{address}");
        }
    }
}
