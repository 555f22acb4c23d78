//! Identity: bearer JWTs verified against keys the operator configures
//! (a JWKS file: RS256 or ES256), or against the development key pair the
//! host makes in its data directory when none is configured. HS256 only in
//! development mode. A verified token gives a [`Principal`]: who, for which
//! organisation, in which roles.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};

use crate::config::Identity;

/// The key id of the development key.
pub const DEV_KEY_ID: &str = "patchbay-dev";
/// The development key's file in the data directory.
pub const DEV_KEY_FILE: &str = "dev-signing-key.pem";

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
        "no bearer token: send `Authorization: Bearer <token>` (get a development token with `patchbay token --role clinician`)"
    )]
    Missing,
    /// Not a JWT, or claims missing.
    #[error("the bearer token is malformed: {0}")]
    Malformed(String),
    /// Past its expiry.
    #[error("the bearer token has expired: get a new one")]
    Expired,
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
}

impl Verifier {
    /// Builds the verifier from the identity settings: the configured JWKS,
    /// or the development key in `data_dir` (made if missing), and the HS256
    /// secret in development mode.
    pub fn new(identity: &Identity, data_dir: &Path) -> anyhow::Result<Verifier> {
        let mut keys = Vec::new();
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
                let dev = DevKey::load_or_create(data_dir)?;
                keys.push((
                    Some(DEV_KEY_ID.to_string()),
                    Algorithm::ES256,
                    dev.decoding_key()?,
                ));
            }
        }
        if let Some(secret) = &identity.hs256_secret {
            anyhow::ensure!(
                identity.development,
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
        })
    }

    /// Verifies a token and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
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
        validation.leeway = 30;
        let mut last = AuthError::BadSignature;
        for (_, _, key) in candidates {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    if c.roles.is_empty() {
                        return Err(AuthError::Malformed("the token gives no roles".into()));
                    }
                    return Ok(Principal {
                        user: c.sub,
                        name: c.name,
                        organisation: c.org,
                        roles: c.roles,
                        nhs_number: c.nhs_number,
                    });
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match e.kind() {
                        ErrorKind::ExpiredSignature => return Err(AuthError::Expired),
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
/// directory, trusted by a host with no JWKS configured.
pub struct DevKey {
    secret: p256::SecretKey,
    path: PathBuf,
}

impl DevKey {
    /// Loads the key from `data_dir`, or makes and saves a new one.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DevKey> {
        let path = data_dir.join(DEV_KEY_FILE);
        if path.exists() {
            return Self::load(data_dir);
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the development key: {e}"))?;
        std::fs::write(&path, pem.as_bytes())
            .with_context(|| format!("cannot write the development key {}", path.display()))?;
        tracing::info!(path = %path.display(), "made a development signing key");
        Ok(DevKey { secret, path })
    }

    /// Loads the key from `data_dir`.
    pub fn load(data_dir: &Path) -> anyhow::Result<DevKey> {
        let path = data_dir.join(DEV_KEY_FILE);
        let pem = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the development key {}: start `patchbay serve` once with this data directory to make it",
                path.display()
            )
        })?;
        let secret = p256::SecretKey::from_pkcs8_pem(&pem)
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
    let now = (crate::call::now_ms() / 1000) as u64;
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
    }
}
