//! Which hosts the client may send a token to. Salesforce answers a login with the instance
//! URL to use; a token must never go anywhere else, so that URL is checked before any call.

use crate::error::SalesforceError;
use url::Url;

/// The environment variable naming extra allowed hosts, comma-separated `host[:port]`.
pub const ALLOWED_HOSTS_VAR: &str = "FERRY_ALLOWED_HOSTS";

/// Salesforce's own domains: production and sandbox instances, My Domain, Visualforce and
/// Lightning hosts all end in one of these.
const SALESFORCE_DOMAINS: &[&str] = &[
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "salesforce.mil",
    "sfcrmproducts.cn",
];

/// Splits a `FERRY_ALLOWED_HOSTS`-style list: commas, surrounding blanks ignored, empty
/// entries dropped, a scheme or trailing path tolerated (`http://127.0.0.1:8080/`).
pub fn parse_allowed_hosts(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|entry| {
            let entry = entry.trim();
            let entry = entry
                .strip_prefix("https://")
                .or_else(|| entry.strip_prefix("http://"))
                .unwrap_or(entry);
            entry
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// The hosts `FERRY_ALLOWED_HOSTS` names, or none when it is unset.
pub fn allowed_hosts_from_env() -> Vec<String> {
    std::env::var(ALLOWED_HOSTS_VAR)
        .map(|value| parse_allowed_hosts(&value))
        .unwrap_or_default()
}

/// `host:port` of a URL (`host` alone when it has no explicit port), as `--allow-host`
/// takes it.
pub fn host_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Accepts https URLs on Salesforce's domains, and any URL whose host (or host:port) is
/// allowed explicitly. Loopback is not special: it must be named too.
pub fn check_instance_url(value: &str, allowed: &[String]) -> Result<Url, SalesforceError> {
    let url = Url::parse(value).map_err(|source| SalesforceError::InvalidUrl {
        url: value.to_owned(),
        source,
    })?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_and_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let salesforce_domain = SALESFORCE_DOMAINS
        .iter()
        .any(|domain| host.ends_with(&format!(".{domain}")));
    let named = allowed.iter().any(|allowed| {
        allowed.eq_ignore_ascii_case(&host_and_port) || allowed.eq_ignore_ascii_case(&host)
    });
    if (url.scheme() == "https" && salesforce_domain)
        || (named && matches!(url.scheme(), "https" | "http"))
    {
        Ok(url)
    } else {
        Err(SalesforceError::InstanceNotAllowed {
            url: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str, hosts: &[&str]) -> bool {
        let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        check_instance_url(url, &hosts).is_ok()
    }

    #[test]
    fn salesforce_domains_over_https_are_allowed() {
        for url in [
            "https://na139.salesforce.com",
            "https://acme.my.salesforce.com/",
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://acme.lightning.force.com",
            "https://cs42.salesforce.com",
        ] {
            assert!(allowed(url, &[]), "{url}");
        }
    }

    #[test]
    fn other_hosts_loopback_and_plain_http_are_refused_unless_named() {
        for url in [
            "http://na139.salesforce.com",
            "https://salesforce.com.evil.example",
            "https://evilsalesforce.com",
            "http://127.0.0.1:8080",
            "https://localhost",
            "file:///etc/passwd",
        ] {
            assert!(!allowed(url, &[]), "{url}");
        }
        assert!(allowed("http://127.0.0.1:8080", &["127.0.0.1:8080"]));
        assert!(allowed("http://127.0.0.1:8080", &["127.0.0.1"]));
        assert!(!allowed("http://127.0.0.1:8081", &["127.0.0.1:8080"]));
        assert!(!allowed("file://127.0.0.1/x", &["127.0.0.1"]));
    }

    #[test]
    fn the_allowed_hosts_list_is_forgiving_about_format() {
        assert_eq!(
            parse_allowed_hosts(" 127.0.0.1:8080, ,http://LOCALHOST:9/x,sim.test "),
            vec!["127.0.0.1:8080", "localhost:9", "sim.test"]
        );
        assert_eq!(
            host_of("http://127.0.0.1:4000/services"),
            Some("127.0.0.1:4000".to_owned())
        );
        assert_eq!(
            host_of("https://acme.my.salesforce.com"),
            Some("acme.my.salesforce.com".to_owned())
        );
    }
}
