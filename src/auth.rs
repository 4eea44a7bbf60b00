//! Bearer-token authentication and the three roles.
//!
//! Our own tokens are HS256 with the service secret (`suiji token` mints them). Optionally,
//! tokens of an external identity provider are accepted too, verified with its public key
//! (PEM or JWKS) and pinned to the key's algorithm: the `alg` in a token header is never
//! trusted to pick the verification method on its own.

use crate::domain::Actor;
use crate::domain::DepartmentCode;
use crate::domain::organization::Jurisdiction;
use crate::error::ApiError;
use anyhow::{Context, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reads everything non-public; writes institutions, and its own department's
    /// inspectors and items; runs the tasks its department leads.
    Coordinator,
    /// Reads everything, writes nothing.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Auditor => "auditor",
        }
    }
}

/// The claims we read from a token; other claims are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The coordinator's organization (its code); absent: the department's default
    /// organization (everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    /// Set for coordinators (and only them).
    pub department: Option<DepartmentCode>,
    /// A coordinator's organization, resolved from the token's `org` claim; `None`: the
    /// department's default organization, which governs everywhere (and always `None` for
    /// admins and auditors).
    pub organization: Option<Jurisdiction>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor {
            sub: self.sub.clone(),
            role: match &self.department {
                Some(d) => format!("{}:{}", self.role.as_str(), d),
                None => self.role.as_str().to_string(),
            },
        }
    }

    /// The region prefix the caller governs: `""` (everywhere) for admins, auditors and
    /// coordinators of a default organization.
    pub fn region_scope(&self) -> &str {
        self.organization
            .as_ref()
            .map_or("", |o| o.region_prefix.as_str())
    }

    /// The code of the caller's organization (a coordinator's default organization is its
    /// department's code); `None` for admins and auditors.
    pub fn organization_code(&self) -> Option<String> {
        match (&self.organization, &self.department) {
            (Some(o), _) => Some(o.code.clone()),
            (None, Some(d)) => Some(d.as_str().to_string()),
            (None, None) => None,
        }
    }

    /// Admins, or a coordinator whose organization's region contains `region` (a 6-digit
    /// division code): writing `what` there. Auditors never write.
    pub fn require_region(&self, region: &str, what: &str) -> Result<(), ApiError> {
        self.require_writer()?;
        match &self.organization {
            Some(o) if self.role == Role::Coordinator && !o.covers_region(region) => {
                Err(ApiError::Forbidden(format!(
                    "organization {} governs region {}: it cannot write {what} in region {region}",
                    o.code, o.region_prefix
                )))
            }
            _ => Ok(()),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only an admin may do this".into()))
        }
    }

    /// Admins and coordinators write; auditors only read.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Coordinator => Ok(()),
            Role::Auditor => Err(ApiError::Forbidden("auditors have read-only access".into())),
        }
    }

    /// Admins, or a coordinator of `department`.
    pub fn require_department(&self, department: &str) -> Result<(), ApiError> {
        self.require_writer()?;
        match (&self.role, &self.department) {
            (Role::Admin, _) => Ok(()),
            (Role::Coordinator, Some(d)) if d.as_str() == department => Ok(()),
            (_, own) => Err(ApiError::Forbidden(format!(
                "a coordinator of {} cannot act for department {department}",
                own.as_ref().map_or("no department", |d| d.as_str())
            ))),
        }
    }
}

struct ExternalKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies tokens (and mints our own).
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    external: Vec<ExternalKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Authenticator {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            external: Vec::new(),
            issuer: None,
            audience: None,
        }
    }

    /// Also accept tokens signed by an external identity provider: a PEM public key
    /// (RSA → RS256, EC P-256 → ES256, Ed25519 → EdDSA) or a JWKS document.
    pub fn with_public_key_file(mut self, path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading public key {}", path.display()))?;
        if bytes.trim_ascii_start().starts_with(b"{") {
            let set: JwkSet = serde_json::from_slice(&bytes)
                .with_context(|| format!("parsing JWKS {}", path.display()))?;
            for jwk in &set.keys {
                let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                    (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
                    (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
                    (Some(KeyAlgorithm::EdDSA), _) => Algorithm::EdDSA,
                    (Some(other), _) => bail!("JWKS key algorithm {other:?} is not supported"),
                    (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (None, AlgorithmParameters::EllipticCurve(_)) => Algorithm::ES256,
                    (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
                    (None, _) => bail!("JWKS key without a usable algorithm"),
                };
                self.external.push(ExternalKey {
                    kid: jwk.common.key_id.clone(),
                    algorithm,
                    key: DecodingKey::from_jwk(jwk).context("loading JWKS key")?,
                });
            }
        } else {
            let (algorithm, key) = if let Ok(k) = DecodingKey::from_rsa_pem(&bytes) {
                (Algorithm::RS256, k)
            } else if let Ok(k) = DecodingKey::from_ec_pem(&bytes) {
                (Algorithm::ES256, k)
            } else if let Ok(k) = DecodingKey::from_ed_pem(&bytes) {
                (Algorithm::EdDSA, k)
            } else {
                bail!(
                    "{} is neither an RSA, EC nor Ed25519 public key in PEM",
                    path.display()
                )
            };
            self.external.push(ExternalKey {
                kid: None,
                algorithm,
                key,
            });
        }
        Ok(self)
    }

    pub fn with_issuer(mut self, iss: Option<String>) -> Self {
        self.issuer = iss;
        self
    }

    pub fn with_audience(mut self, aud: Option<String>) -> Self {
        self.audience = aud;
        self
    }

    /// Mints an HS256 token with our secret.
    pub fn mint(
        &self,
        sub: &str,
        role: Role,
        department: Option<&str>,
        ttl: std::time::Duration,
    ) -> anyhow::Result<String> {
        self.mint_for(sub, role, department, None, ttl)
    }

    /// Mints an HS256 token naming the coordinator's organization too.
    pub fn mint_for(
        &self,
        sub: &str,
        role: Role,
        department: Option<&str>,
        organization: Option<&str>,
        ttl: std::time::Duration,
    ) -> anyhow::Result<String> {
        if role != Role::Coordinator && organization.is_some() {
            bail!("only coordinator tokens carry an organization");
        }
        if let Some(o) = organization {
            crate::domain::organization::check_code(o)
                .map_err(|e| anyhow::anyhow!("organization: {e}"))?;
        }
        if role == Role::Coordinator && department.is_none() {
            bail!("a coordinator token needs --department");
        }
        if role != Role::Coordinator && department.is_some() {
            bail!("only coordinator tokens carry a department");
        }
        if let Some(d) = department {
            DepartmentCode::parse(d).map_err(|e| anyhow::anyhow!("department: {e}"))?;
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            role,
            department: department.map(str::to_string),
            org: organization.map(str::to_string),
            exp: now + ttl.as_secs(),
            iat: now,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = 5;
        // A token valid only from a later time is not valid yet.
        v.validate_nbf = true;
        // When an issuer or audience is configured, a token must carry it: a token without
        // the claim is not "from any issuer".
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }

    /// Verifies a bearer token and returns the caller (its organization unresolved).
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        self.verify_with_org(token).map(|(p, _)| p)
    }

    /// Verifies a bearer token: the caller and the organization code its token names (a
    /// coordinator's `org` claim; the caller resolves it against the registry).
    pub fn verify_with_org(&self, token: &str) -> Result<(Principal, Option<String>), ApiError> {
        let invalid = |why: String| ApiError::unauthorized(format!("invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let data = if header.alg == Algorithm::HS256 {
            jsonwebtoken::decode::<Claims>(
                token,
                &self.decoding,
                &self.validation(Algorithm::HS256),
            )
        } else {
            let key = self
                .external
                .iter()
                .find(|k| {
                    k.algorithm == header.alg
                        && (header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
                })
                .ok_or_else(|| invalid(format!("no trusted key for algorithm {:?}", header.alg)))?;
            jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation(key.algorithm))
        };
        let claims = data
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthorized("token expired")
                }
                _ => invalid(e.to_string()),
            })?
            .claims;
        let department = match (claims.role, claims.department) {
            (Role::Coordinator, Some(d)) => {
                Some(DepartmentCode::parse(&d).map_err(|e| invalid(format!("department: {e}")))?)
            }
            (Role::Coordinator, None) => {
                return Err(invalid(
                    "a coordinator token must name its department".into(),
                ));
            }
            (_, _) => None,
        };
        if claims.sub.trim().is_empty() {
            return Err(invalid("empty subject".into()));
        }
        // The subject is written into the audit log and logs: no NUL, CR, LF or other
        // control characters, and a sane length.
        if claims.sub.chars().any(char::is_control) || claims.sub.chars().count() > 256 {
            return Err(invalid(
                "the subject must be at most 256 characters without control characters".into(),
            ));
        }
        let org = match (claims.role, claims.org) {
            (Role::Coordinator, Some(o)) => {
                crate::domain::organization::check_code(&o)
                    .map_err(|e| invalid(format!("org: {e}")))?;
                Some(o)
            }
            _ => None,
        };
        Ok((
            Principal {
                sub: claims.sub,
                role: claims.role,
                department,
                organization: None,
            },
            org,
        ))
    }
}

/// Parses a token lifetime such as `8h`, `30m`, `7d`.
pub fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify_and_carry_the_department() {
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef");
        let t = a
            .mint(
                "li",
                Role::Coordinator,
                Some("health"),
                parse_ttl("1h").unwrap(),
            )
            .unwrap();
        let p = a.verify(&t).unwrap();
        assert_eq!(p.role, Role::Coordinator);
        assert_eq!(p.department.unwrap().as_str(), "health");
        let other = Authenticator::new(b"another secret, another service!");
        assert!(matches!(
            other.verify(&t),
            Err(ApiError::Unauthorized { .. })
        ));
        assert!(
            a.mint("x", Role::Coordinator, None, parse_ttl("1h").unwrap())
                .is_err()
        );
    }

    #[test]
    fn tokens_carry_the_coordinators_organization() {
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef");
        let ttl = parse_ttl("1h").unwrap();
        let t = a
            .mint_for(
                "wang",
                Role::Coordinator,
                Some("medical_insurance"),
                Some("mi-150626"),
                ttl,
            )
            .unwrap();
        let (p, org) = a.verify_with_org(&t).unwrap();
        assert_eq!(org.as_deref(), Some("mi-150626"));
        // Resolved against the registry by the extractor; unresolved it governs nothing less.
        assert!(p.organization.is_none());
        // Only coordinators carry one, and it must be a well-formed code.
        assert!(
            a.mint_for("x", Role::Admin, None, Some("mi-1506"), ttl)
                .is_err()
        );
        assert!(
            a.mint_for(
                "x",
                Role::Coordinator,
                Some("health"),
                Some("Bad Code"),
                ttl
            )
            .is_err()
        );
        let now = jsonwebtoken::get_current_timestamp();
        let bad = serde_json::json!({"sub": "x", "role": "coordinator", "department": "health",
            "org": "乌审旗", "exp": now + 600});
        assert!(a.verify(&sign(&a, bad)).is_err());
        // An admin's org claim (an identity provider may send one) is ignored.
        let admin =
            serde_json::json!({"sub": "x", "role": "admin", "org": "mi-1506", "exp": now + 600});
        assert_eq!(a.verify_with_org(&sign(&a, admin)).unwrap().1, None);
    }

    fn sign(a: &Authenticator, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::default(), &claims, &a.encoding).unwrap()
    }

    #[test]
    fn configured_issuer_and_audience_are_required_nbf_and_sub_checked() {
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef")
            .with_issuer(Some("https://idp.example".into()))
            .with_audience(Some("suiji".into()));
        let now = jsonwebtoken::get_current_timestamp();
        let base = serde_json::json!({"sub": "li", "role": "admin", "exp": now + 600});
        let with = |extra: serde_json::Value| {
            let mut c = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        let good = serde_json::json!({"iss": "https://idp.example", "aud": "suiji"});
        assert!(a.verify(&sign(&a, with(good.clone()))).is_ok());
        // Missing iss, missing aud: refused.
        assert!(
            a.verify(&sign(&a, with(serde_json::json!({"aud": "suiji"}))))
                .is_err()
        );
        assert!(
            a.verify(&sign(
                &a,
                with(serde_json::json!({"iss": "https://idp.example"}))
            ))
            .is_err()
        );
        // Not valid before an hour from now: refused.
        let mut later = with(good.clone());
        later["nbf"] = (now + 3600).into();
        assert!(a.verify(&sign(&a, later)).is_err());
        // Control characters in the subject: refused.
        for sub in ["li\u{0}", "li\r\nadmin", "li\n"] {
            let mut c = with(good.clone());
            c["sub"] = sub.into();
            assert!(a.verify(&sign(&a, c)).is_err(), "{sub:?}");
        }
    }

    #[test]
    fn expired_tokens_are_refused() {
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef");
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "x".into(),
            role: Role::Admin,
            department: None,
            org: None,
            exp: now - 120,
            iat: now - 3600,
        };
        let t = jsonwebtoken::encode(&Header::default(), &claims, &a.encoding).unwrap();
        let err = a.verify(&t).unwrap_err();
        assert_eq!(err.to_string(), "token expired");
    }

    // A throwaway Ed25519 key pair (made with `openssl genpkey -algorithm ed25519`), standing
    // in for an external identity provider.
    const IDP_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIiZGYnqruwgoTyX9WPY/dhlcRWlVcc9NvL1xoOC29FB
-----END PRIVATE KEY-----
";
    const IDP_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEANxjUXczVDM+4oxsmJQZBx4RykPBaveeVofPVEowqQsA=
-----END PUBLIC KEY-----
";
    const IDP_JWKS: &str = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "idp-1",
        "x": "NxjUXczVDM-4oxsmJQZBx4RykPBaveeVofPVEowqQsA"}]}"#;

    fn idp_token(kid: Option<&str>, department: Option<&str>) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "zhao.liu@idp".into(),
            role: Role::Coordinator,
            department: department.map(str::to_string),
            org: None,
            exp: now + 600,
            iat: now,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_string);
        let key = EncodingKey::from_ed_pem(IDP_PRIVATE.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    #[test]
    fn external_identity_provider_tokens_from_pem_and_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("idp.pem");
        std::fs::write(&pem, IDP_PUBLIC).unwrap();
        let jwks = dir.path().join("idp.jwks");
        std::fs::write(&jwks, IDP_JWKS).unwrap();
        for file in [&pem, &jwks] {
            let a = Authenticator::new(b"0123456789abcdef0123456789abcdef")
                .with_public_key_file(file)
                .unwrap();
            let p = a.verify(&idp_token(Some("idp-1"), Some("health"))).unwrap();
            assert_eq!(p.sub, "zhao.liu@idp");
            assert_eq!(p.department.unwrap().as_str(), "health");
            // A coordinator without a department is refused.
            assert!(a.verify(&idp_token(Some("idp-1"), None)).is_err());
        }
        // Without the key configured, the provider's tokens are refused.
        let plain = Authenticator::new(b"0123456789abcdef0123456789abcdef");
        assert!(plain.verify(&idp_token(None, Some("health"))).is_err());
        // A JWKS key is matched by kid.
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef")
            .with_public_key_file(&jwks)
            .unwrap();
        assert!(a.verify(&idp_token(Some("other"), Some("health"))).is_err());
    }

    #[test]
    fn a_token_cannot_choose_hs256_with_the_public_key_as_secret() {
        // The classic algorithm-confusion attack: sign HS256 with the public key's bytes.
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("idp.pem");
        std::fs::write(&pem, IDP_PUBLIC).unwrap();
        let a = Authenticator::new(b"0123456789abcdef0123456789abcdef")
            .with_public_key_file(&pem)
            .unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "mallory".into(),
            role: Role::Admin,
            department: None,
            org: None,
            exp: now + 600,
            iat: now,
        };
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(IDP_PUBLIC.as_bytes()),
        )
        .unwrap();
        assert!(a.verify(&forged).is_err());
    }
}
