//! Where a remote cache is, as a user writes it: `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `azblob://container/prefix` or `gha://` (the GitHub Actions cache, optionally
//! `gha://version`). Parsing only: no network, no credentials. Credentials never go in the
//! address; each service reads its own standard environment variables.

use std::fmt;

/// A service that can hold a remote cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon S3 and S3-compatible stores (`MinIO`, R2, Ceph); the endpoint of a compatible
    /// store comes from `AWS_ENDPOINT_URL`.
    S3,
    /// Google Cloud Storage.
    Gcs,
    /// Azure Blob Storage.
    Azblob,
    /// The GitHub Actions cache, from inside a workflow.
    Ghac,
}

/// A parsed remote cache address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The service.
    pub service: Service,
    /// The bucket or container; for the GitHub Actions cache, the cache version (may be
    /// empty).
    pub bucket: String,
    /// The folder inside it that holds the entries, `/` or `/a/b/`.
    pub root: String,
}

impl Address {
    /// Reads an address.
    ///
    /// # Errors
    /// When the scheme is unknown, the bucket is missing, or the address carries
    /// credentials; the message never repeats what stood where credentials go.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!(
                "`{text}` is not a remote cache address; write e.g. `s3://bucket/prefix`"
            ));
        };
        let service = match scheme.to_ascii_lowercase().as_str() {
            "s3" => Service::S3,
            "gs" | "gcs" => Service::Gcs,
            "azblob" => Service::Azblob,
            "gha" | "ghac" => Service::Ghac,
            _ => {
                return Err(format!(
                    "unknown remote cache scheme `{scheme}://`; use s3://, gs://, azblob:// or gha://"
                ));
            }
        };
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') || bucket.contains(':') {
            return Err(format!(
                "a remote cache address holds no credentials or port (`{scheme}://…@…`); \
                 credentials come from the service's environment variables"
            ));
        }
        if bucket.is_empty() && service != Service::Ghac {
            return Err(format!("`{text}` names no bucket; write `{scheme}://bucket/prefix`"));
        }
        if service == Service::S3 && !is_s3_bucket_name(bucket) {
            return Err(format!(
                "`{bucket}` cannot name an S3 bucket: a bucket's name is 3 to 63 lowercase \
                 letters, digits, dots and hyphens, and starts and ends with a letter or digit"
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(format!(
                "`{text}` has a query or fragment; write `{scheme}://bucket/prefix`"
            ));
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| *p == "." || *p == "..") {
            return Err(format!("`{text}` has `.` or `..` in its prefix"));
        }
        let root = if parts.is_empty() { "/".to_owned() } else { format!("/{}/", parts.join("/")) };
        Ok(Self { service, bucket: bucket.to_owned(), root })
    }
}

/// Whether S3 (and every S3-compatible store) takes `name` as a bucket's: the services
/// answer a request for any other name with an error that names nothing.
fn is_s3_bucket_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let alphanumeric =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.chars().all(allowed)
        && alphanumeric(name.chars().next())
        && alphanumeric(name.chars().last())
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.service {
            Service::S3 => "s3",
            Service::Gcs => "gs",
            Service::Azblob => "azblob",
            Service::Ghac => "gha",
        };
        write!(f, "{scheme}://{}{}", self.bucket, self.root.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Service, String, String) {
        let a = Address::parse(text).unwrap();
        (a.service, a.bucket, a.root)
    }

    #[test]
    fn each_service_reads_its_bucket_and_prefix() {
        let s = |x: &str| x.to_owned();
        assert_eq!(parsed("s3://renders"), (Service::S3, s("renders"), s("/")));
        assert_eq!(parsed("s3://renders/label/ci/"), (Service::S3, s("renders"), s("/label/ci/")));
        assert_eq!(parsed("gs://b/p"), (Service::Gcs, s("b"), s("/p/")));
        assert_eq!(parsed("azblob://box/a//b"), (Service::Azblob, s("box"), s("/a/b/")));
        assert_eq!(parsed("gha://"), (Service::Ghac, s(""), s("/")));
        assert_eq!(parsed("gha://v2"), (Service::Ghac, s("v2"), s("/")));
    }

    #[test]
    fn an_address_prints_as_it_reads() {
        for text in ["s3://renders", "s3://renders/label/ci", "gs://b/p", "gha://", "gha://v2"] {
            assert_eq!(Address::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Address::parse("s3://renders/ci/").unwrap().to_string(), "s3://renders/ci");
    }

    #[test]
    fn unknown_schemes_missing_buckets_and_odd_prefixes_are_refused_with_the_fix() {
        let e = Address::parse("ftp://x/y").unwrap_err();
        assert!(e.contains("s3://, gs://, azblob:// or gha://"), "{e}");
        assert!(Address::parse("renders").unwrap_err().contains("s3://bucket/prefix"));
        assert!(Address::parse("s3:///prefix").unwrap_err().contains("names no bucket"));
        assert!(Address::parse("s3://bkt/../x").is_err());
        assert!(Address::parse("s3://bkt/x?versionId=1").is_err());
    }

    #[test]
    fn an_s3_bucket_name_the_service_would_refuse_is_refused_here_in_words() {
        for name in ["b1", "Renders", "renders_ci", "-renders", "renders.", &"r".repeat(64)] {
            let e = Address::parse(&format!("s3://{name}/ci")).unwrap_err();
            assert!(
                e.contains("3 to 63 lowercase letters, digits, dots and hyphens"),
                "{name}: {e}"
            );
        }
        for name in ["up0", "label-renders", "renders.example.com", &"r".repeat(63)] {
            assert!(Address::parse(&format!("s3://{name}/ci")).is_ok(), "{name}");
        }
    }

    #[test]
    fn credentials_in_an_address_are_refused_and_never_repeated() {
        let e = Address::parse("s3://AKIAEXAMPLE:hunter2secret@bucket/x").unwrap_err();
        assert!(e.contains("environment variables"), "{e}");
        assert!(!e.contains("hunter2secret") && !e.contains("AKIAEXAMPLE"), "{e}");
    }
}
