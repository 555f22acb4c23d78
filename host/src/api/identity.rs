//! Identity: bearer JWTs verified against keys the operator configures
//! (a JWKS file: RS256 or ES256), or, in development mode only, against the
//! development key pair the host makes in its data directory. HS256 only in
//! development mode. A token must be valid now (`exp`, and `nbf` and `iat`
//! not in the future, with a small leeway for clocks) and must not live
//! longer than the host allows. A verified token gives a [`Principal`]: who,
//! for which organisation, in which roles.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};

use crate::api::config::{Config, Identity};
use crate::api::token_cache::{Stale, TokenCache};
use crate::store::private_files::{SecretError, ensure_private_dir, read_secret, write_private};

/// The key id of the development key.
pub const DEV_KEY_ID: &str = "patchbay-dev";
/// The development key's file in the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key.pem";
/// How far, in seconds, a token's times may be off this host's clock: its
/// `exp` may have just passed, its `nbf` or `iat` may be just ahead.
pub const LEEWAY_SECS: u64 = 30;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Books, cancels, amends; checks and issues prescriptions.
    Clinician,
    /// Books, cancels and amends appointments; no prescribing.
    Receptionist,
    /// Sees and books their own appointments only.
    Patient,
    /// Deploys modules.
    Admin,
    /// Reads the audit trail.
    Auditor,
}

impl Role {
    /// The role's name in tokens and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Receptionist => "receptionist",
            Role::Patient => "patient",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

/// The claims of a Patchbay token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organisation's ODS code.
    pub org: String,
    /// The user's roles.
    pub roles: Vec<Role>,
    /// For the patient role: the patient's own NHS number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// A verified caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user's id.
    pub user: String,
    /// The user's name.
    pub name: Option<String>,
    /// The organisation the caller acts for.
    pub organisation: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
    /// For patients: their own NHS number.
    pub nhs_number: Option<String>,
}

impl Principal {
    /// Whether the caller has any of the roles.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }

    /// The first of the caller's roles that is among `roles`, for the audit
    /// trail.
    pub fn acting_role(&self, roles: &[Role]) -> Option<Role> {
        self.roles.iter().copied().find(|r| roles.contains(r))
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error(
        "no bearer token: send `Authorization: Bearer <token>` (from the identity provider; in development mode, `patchbay token --role clinician` makes one)"
    )]
    Missing,
    /// Not a JWT, or claims missing.
    #[error("the bearer token is malformed: {0}")]
    Malformed(String),
    /// Past its expiry.
    #[error("the bearer token has expired: get a new one")]
    Expired,
    /// Its `nbf` is ahead of this host's clock by more than the leeway.
    #[error(
        "the bearer token is not valid yet (its nbf is in the future): check the clocks of the identity provider and this host"
    )]
    NotYetValid,
    /// Its `iat` is ahead of this host's clock by more than the leeway.
    #[error(
        "the bearer token was issued in the future (its iat is ahead of this host's clock): check the clocks of the identity provider and this host"
    )]
    IssuedInFuture,
    /// Its `exp` is further from its `iat` than the host allows.
    #[error(
        "the bearer token lives longer than this host accepts: at most {0} s from iat to exp; get a shorter-lived token"
    )]
    LivesTooLong(u64),
    /// Signed by a key the host does not trust, or altered.
    #[error("the bearer token's signature is not valid for any trusted key")]
    BadSignature,
    /// For another audience.
    #[error("the bearer token is for another audience: expected '{0}'")]
    WrongAudience(String),
    /// From another issuer.
    #[error("the bearer token is from another issuer: expected '{0}'")]
    WrongIssuer(String),
    /// An algorithm the host does not accept.
    #[error(
        "the bearer token uses {0:?}, which this host does not accept (RS256 or ES256; HS256 only in development mode)"
    )]
    Algorithm(Algorithm),
}

/// Verifies bearer tokens.
pub struct Verifier {
    keys: Vec<(Option<String>, Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    max_lifetime_secs: u64,
    cache: TokenCache<Principal>,
    development_key: Option<Arc<DevKey>>,
}

impl Verifier {
    /// Builds the verifier from the configuration: the keys of the
    /// configured JWKS; or, in development mode ([`Config::development`])
    /// with no JWKS, the development key in the data directory (made if
    /// missing, replaced if not private), announced in the log; and the
    /// HS256 secret, in development mode only. Outside development mode a
    /// JWKS is required.
    pub fn new(config: &Config) -> anyhow::Result<Verifier> {
        let identity = &config.identity;
        let development = config.development();
        let mut keys = Vec::new();
        let mut development_key = None;
        match &identity.jwks_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the JWKS file {}", path.display()))?;
                let set: JwkSet = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a JWKS document", path.display()))?;
                for jwk in &set.keys {
                    let key = DecodingKey::from_jwk(jwk)
                        .with_context(|| format!("a key in {} cannot be used", path.display()))?;
                    let alg = match &jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                            Algorithm::ES256
                        }
                        _ => {
                            anyhow::bail!("{}: only RSA and EC keys are supported", path.display())
                        }
                    };
                    keys.push((jwk.common.key_id.clone(), alg, key));
                }
            }
            None => {
                anyhow::ensure!(
                    development,
                    "no identity provider is configured: set identity.jwks_file to the identity provider's keys (a JWKS file), or, for development only, identity.development = true to trust a development key"
                );
                let dev = DevKey::load_or_create(&config.data_dir)?;
                tracing::warn!(
                    "DEVELOPMENT MODE: tokens signed by the development key {} are trusted (anyone who can read it can sign in as anyone): this host must never hold real patients' data",
                    dev.path().display()
                );
                keys.push((
                    Some(DEV_KEY_ID.to_string()),
                    Algorithm::ES256,
                    dev.decoding_key()?,
                ));
                development_key = Some(Arc::new(dev));
            }
        }
        if let Some(secret) = &identity.hs256_secret {
            anyhow::ensure!(
                development,
                "identity.hs256_secret is set but development mode is off: HS256 is accepted only with identity.development = true"
            );
            tracing::warn!(
                "DEVELOPMENT MODE: HS256 tokens signed with a shared secret are accepted"
            );
            keys.push((
                None,
                Algorithm::HS256,
                DecodingKey::from_secret(secret.as_bytes()),
            ));
        }
        Ok(Verifier {
            keys,
            issuer: identity.issuer.clone(),
            audience: identity.audience.clone(),
            max_lifetime_secs: identity.max_token_lifetime_secs,
            cache: TokenCache::new(LEEWAY_SECS),
            development_key,
        })
    }

    /// The development key, when this verifier trusts it (development mode
    /// with no JWKS): the console's development sign-in signs with it.
    pub fn development_key(&self) -> Option<Arc<DevKey>> {
        self.development_key.clone()
    }

    /// Verifies a token and returns its caller: in full the first time,
    /// then from the cache of verified tokens until it expires.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = (crate::runtime::call_state::now_ms() / 1000) as u64;
        if let Some(cached) = self.cache.get(token, now) {
            return cached.map_err(|stale| match stale {
                Stale::Expired => AuthError::Expired,
                Stale::NotYetValid => AuthError::NotYetValid,
            });
        }
        let (principal, not_before, expires) = self.verify_in_full(token, now)?;
        self.cache
            .insert(token, &principal, not_before, expires, now);
        Ok(principal)
    }

    /// How many verified tokens the cache keeps.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// Verifies a token's signature and claims; returns its caller and its
    /// validity window (not before, expires).
    fn verify_in_full(&self, token: &str, now: u64) -> Result<(Principal, u64, u64), AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Malformed(e.to_string()))?;
        let candidates: Vec<_> = self
            .keys
            .iter()
            .filter(|(kid, alg, _)| {
                *alg == header.alg && (header.kid.is_none() || kid.is_none() || *kid == header.kid)
            })
            .collect();
        if candidates.is_empty() {
            return Err(if self.keys.iter().any(|(_, alg, _)| *alg == header.alg) {
                AuthError::BadSignature
            } else {
                AuthError::Algorithm(header.alg)
            });
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut last = AuthError::BadSignature;
        for (_, _, key) in candidates {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    if c.roles.is_empty() {
                        return Err(AuthError::Malformed("the token gives no roles".into()));
                    }
                    if c.iat > now + LEEWAY_SECS {
                        return Err(AuthError::IssuedInFuture);
                    }
                    if c.exp.saturating_sub(c.iat) > self.max_lifetime_secs {
                        return Err(AuthError::LivesTooLong(self.max_lifetime_secs));
                    }
                    let window = (c.nbf.unwrap_or(c.iat), c.exp);
                    let principal = Principal {
                        user: c.sub,
                        name: c.name,
                        organisation: c.org,
                        roles: c.roles,
                        nhs_number: c.nhs_number,
                    };
                    return Ok((principal, window.0, window.1));
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::ExpiredSignature => return Err(AuthError::Expired),
                        ErrorKind::ImmatureSignature => return Err(AuthError::NotYetValid),
                        ErrorKind::InvalidAudience => {
                            return Err(AuthError::WrongAudience(self.audience.clone()));
                        }
                        ErrorKind::InvalidIssuer => {
                            return Err(AuthError::WrongIssuer(self.issuer.clone()));
                        }
                        ErrorKind::InvalidSignature => AuthError::BadSignature,
                        ErrorKind::Json(_)
                        | ErrorKind::MissingRequiredClaim(_)
                        | ErrorKind::Base64(_)
                        | ErrorKind::Utf8(_) => {
                            return Err(AuthError::Malformed(e.to_string()));
                        }
                        _ => AuthError::Malformed(e.to_string()),
                    };
                }
            }
        }
        Err(last)
    }
}

/// The development signing key: an ES256 (P-256) key pair kept in the data
/// directory, mode 0600, trusted by a host in development mode with no JWKS
/// configured.
pub struct DevKey {
    secret: p256::SecretKey,
    path: PathBuf,
}

impl DevKey {
    /// Loads the key from `data_dir` (made private), or makes and saves a
    /// new one. A key file that is not private (another owner, open to other
    /// users, a symbolic link) may have been copied: it is replaced by a new
    /// key, so tokens signed by the old one stop working.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DevKey> {
        ensure_private_dir(data_dir).with_context(|| {
            format!(
                "the data directory {} must be private to this host's user",
                data_dir.display()
            )
        })?;
        let path = data_dir.join(DEV_KEY_FILE);
        match read_secret(&path) {
            Ok(Some(pem)) => return Self::parse(&pem, path),
            Ok(None) => {}
            Err(SecretError::NotPrivate { why, .. }) => {
                tracing::warn!(path = %path.display(),
                    "the development key is not private ({why}), so it may have been copied: replacing it with a new key; tokens signed by the old key stop working");
                // A new file takes its place; removing it first also
                // clears a directory or other odd file in the way.
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => return Err(e.into()),
        }
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the development key: {e}"))?;
        write_private(&path, pem.as_bytes())
            .with_context(|| format!("cannot write the development key {}", path.display()))?;
        tracing::info!(path = %path.display(), "made a development signing key");
        Ok(DevKey { secret, path })
    }

    /// Loads the key from `data_dir`. A key file that is not private is
    /// refused.
    pub fn load(data_dir: &Path) -> anyhow::Result<DevKey> {
        let path = data_dir.join(DEV_KEY_FILE);
        match read_secret(&path) {
            Ok(Some(pem)) => Self::parse(&pem, path),
            Ok(None) => anyhow::bail!(
                "there is no development key {}: start `patchbay serve` once in development mode with this data directory to make it",
                path.display()
            ),
            Err(e @ SecretError::NotPrivate { .. }) => Err(anyhow::Error::new(e).context(
                "the development key may have been copied, so it is not used: start `patchbay serve` to replace it with a new one",
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn parse(pem: &[u8], path: PathBuf) -> anyhow::Result<DevKey> {
        let pem = std::str::from_utf8(pem)
            .map_err(|_| anyhow::anyhow!("{} is not a PEM file", path.display()))?;
        let secret = p256::SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| anyhow::anyhow!("{} is not a P-256 key: {e}", path.display()))?;
        Ok(DevKey { secret, path })
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn decoding_key(&self) -> anyhow::Result<DecodingKey> {
        let (x, y) = self.public_coordinates()?;
        DecodingKey::from_ec_components(&x, &y).context("cannot use the development key")
    }

    /// The public key's x and y, base64url without padding (JWK form).
    pub fn public_coordinates(&self) -> anyhow::Result<(String, String)> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = self.secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            anyhow::bail!("the development key has no affine coordinates");
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Ok((b64.encode(x), b64.encode(y)))
    }

    /// Signs claims as an ES256 token.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let pem = self
            .secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the development key: {e}"))?;
        let key =
            EncodingKey::from_ec_pem(pem.as_bytes()).context("cannot use the development key")?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(DEV_KEY_ID.to_string());
        jsonwebtoken::encode(&header, claims, &key).context("cannot sign the token")
    }
}

/// Claims for a development token valid for `ttl_secs`.
pub fn dev_claims(
    identity: &Identity,
    user: &str,
    org: &str,
    roles: Vec<Role>,
    nhs_number: Option<String>,
    ttl_secs: u64,
) -> Claims {
    let now = (crate::runtime::call_state::now_ms() / 1000) as u64;
    Claims {
        sub: user.to_string(),
        name: None,
        org: org.to_string(),
        roles,
        nhs_number,
        iss: identity.issuer.clone(),
        aud: identity.audience.clone(),
        exp: now + ttl_secs,
        iat: now,
        nbf: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A development-mode configuration over a fresh data directory, removed
    /// when dropped.
    struct Dev {
        config: Config,
    }

    impl Dev {
        fn new() -> Dev {
            let data_dir =
                std::env::temp_dir().join(format!("identity-{}", crate::store::records::new_id()));
            Dev {
                config: Config {
                    data_dir,
                    demo: false,
                    identity: Identity {
                        development: true,
                        ..Identity::default()
                    },
                    ..Config::default()
                },
            }
        }

        fn verifier(&self) -> Verifier {
            Verifier::new(&self.config).expect("verifier")
        }

        fn key(&self) -> DevKey {
            DevKey::load(&self.config.data_dir).expect("the development key")
        }

        fn claims(&self) -> Claims {
            dev_claims(
                &self.config.identity,
                "u",
                "Y90001",
                vec![Role::Clinician],
                None,
                3600,
            )
        }
    }

    impl Drop for Dev {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.config.data_dir);
        }
    }

    fn now() -> u64 {
        (crate::runtime::call_state::now_ms() / 1000) as u64
    }

    #[test]
    fn a_normal_token_is_accepted() {
        let dev = Dev::new();
        let verifier = dev.verifier();
        let mut claims = dev.claims();
        let principal = verifier
            .verify(&dev.key().sign(&claims).expect("sign"))
            .expect("accepted");
        assert_eq!(principal.user, "u");
        // Clocks a little apart, and a token that lives exactly the maximum.
        claims.nbf = Some(now() + 10);
        claims.iat = now() + 10;
        claims.exp = claims.iat + crate::api::config::DEFAULT_MAX_TOKEN_LIFETIME_SECS;
        verifier
            .verify(&dev.key().sign(&claims).expect("sign"))
            .expect("within the leeway and the maximum lifetime");
    }

    #[test]
    fn a_token_is_verified_once_and_only_a_good_one_is_kept() {
        let dev = Dev::new();
        let verifier = dev.verifier();
        let token = dev.key().sign(&dev.claims()).expect("sign");
        for _ in 0..3 {
            assert_eq!(verifier.verify(&token).expect("accepted").user, "u");
        }
        assert_eq!(verifier.cached_tokens(), 1);
        let mut forged = token.clone();
        forged.truncate(forged.len() - 4);
        forged.push_str("AAAA");
        for _ in 0..2 {
            assert!(matches!(
                verifier.verify(&forged),
                Err(AuthError::BadSignature)
            ));
        }
        assert_eq!(verifier.cached_tokens(), 1, "a refused token is never kept");
        // Another key set (a restart with a new JWKS, or without the key)
        // starts with nothing kept: the token is checked against its keys.
        let other = Dev::new();
        assert!(other.verifier().verify(&token).is_err());
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let dev = Dev::new();
        let mut claims = dev.claims();
        claims.nbf = Some(now() + 600);
        let refused = dev
            .verifier()
            .verify(&dev.key().sign(&claims).expect("sign"))
            .expect_err("refused");
        assert!(matches!(refused, AuthError::NotYetValid), "{refused}");
        assert!(refused.to_string().contains("not valid yet"), "{refused}");
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused() {
        let dev = Dev::new();
        let mut claims = dev.claims();
        claims.iat = now() + 600;
        let refused = dev
            .verifier()
            .verify(&dev.key().sign(&claims).expect("sign"))
            .expect_err("refused");
        assert!(matches!(refused, AuthError::IssuedInFuture), "{refused}");
    }

    #[test]
    fn a_token_that_lives_too_long_is_refused() {
        let dev = Dev::new();
        let mut claims = dev.claims();
        claims.exp = claims.iat + 10 * 365 * 24 * 3600;
        let refused = dev
            .verifier()
            .verify(&dev.key().sign(&claims).expect("sign"))
            .expect_err("refused");
        assert!(
            matches!(refused, AuthError::LivesTooLong(43200)),
            "{refused}"
        );
        assert!(
            refused
                .to_string()
                .contains("lives longer than this host accepts: at most 43200 s"),
            "{refused}"
        );
    }

    #[test]
    fn without_development_mode_a_jwks_is_required() {
        let mut dev = Dev::new();
        dev.config.identity.development = false;
        let error = format!(
            "{:#}",
            Verifier::new(&dev.config).err().expect("no verifier")
        );
        assert!(error.contains("identity.jwks_file"), "{error}");
        assert!(error.contains("identity.development = true"), "{error}");
        assert!(
            !dev.config.data_dir.join(DEV_KEY_FILE).exists(),
            "no development key is made"
        );
        // The demo is development mode.
        dev.config.demo = true;
        Verifier::new(&dev.config).expect("the demo trusts the development key");
    }

    #[test]
    fn hs256_needs_development_mode() {
        let mut dev = Dev::new();
        dev.config.identity.hs256_secret = Some("secret".into());
        dev.verifier();
        dev.config.identity.development = false;
        dev.config.identity.jwks_file = Some(dev.config.data_dir.join("jwks.json"));
        std::fs::write(dev.config.data_dir.join("jwks.json"), r#"{"keys": []}"#).expect("jwks");
        let error = format!("{:#}", Verifier::new(&dev.config).err().expect("refused"));
        assert!(error.contains("HS256"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn the_development_key_is_private_and_replaced_if_it_is_not() {
        use std::os::unix::fs::PermissionsExt as _;
        let dev = Dev::new();
        let verifier = dev.verifier();
        let path = dev.config.data_dir.join(DEV_KEY_FILE);
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dev.config.data_dir), 0o700);
        let old = dev.key();
        let token = old.sign(&dev.claims()).expect("sign");
        verifier.verify(&token).expect("accepted");
        // Someone could have read it: it is not used again.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = format!(
            "{:#}",
            DevKey::load(&dev.config.data_dir).err().expect("refused")
        );
        assert!(error.contains("may have been copied"), "{error}");
        let verifier = dev.verifier();
        assert_eq!(mode(&path), 0o600, "replaced by a private key");
        assert!(
            matches!(verifier.verify(&token), Err(AuthError::BadSignature)),
            "a token signed by the old key stops working"
        );
        verifier
            .verify(&dev.key().sign(&dev.claims()).expect("sign"))
            .expect("the new key works");
    }
}
