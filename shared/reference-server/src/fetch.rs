//! Fetching a file's bytes from the URL a `file-url` request names.
//!
//! The URL is usually presigned, which makes it a credential: it never appears in a log line
//! or an error message, and reqwest errors are stripped of it.

use std::time::Duration;

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
}

/// Fetches at most `declared` bytes (and at most `max_bytes`) from `location`, over http or
/// https, within `timeout`. The body is read as it streams and the fetch stops as soon as it
/// passes the declared size, so a wrong or hostile URL cannot fill the server's memory.
pub async fn fetch(
    http: &reqwest::Client,
    location: &str,
    declared: u64,
    max_bytes: u64,
    timeout: Duration,
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
        let response = http.get(url).send().await.map_err(transport)?;
        let status = response.status();
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
