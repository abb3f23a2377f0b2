//! AWS Private CA (ACM-PCA) behind [`CertificateAuthority`], through aws-sdk-acmpca.
//!
//! The trait is synchronous, so each [`AwsCa`] owns a current-thread tokio runtime and
//! blocks on one SDK call at a time; do not call it from inside another tokio runtime.
//!
//! Configuration is the SDK's standard chain, with the command line first:
//! `--profile`/`AWS_PROFILE`, `--region`/`AWS_REGION` (else the region in the CA ARN),
//! `--endpoint-url`/`AWS_ENDPOINT_URL`. Credentials are resolved once when the CA is
//! opened, under a short deadline, so a machine with none fails at once with what to set
//! instead of waiting on the EC2 instance-metadata service.
//!
//! Throttling and transient failures are retried by the SDK (standard mode: exponential
//! backoff with full jitter). IssueCertificate carries an idempotency token, so a retry
//! (by the SDK, or a rerun of the tool) returns the same certificate.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_acmpca::Client;
use aws_sdk_acmpca::config::Region;
use aws_sdk_acmpca::config::retry::RetryConfig;
use aws_sdk_acmpca::config::timeout::TimeoutConfig;
use aws_sdk_acmpca::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_acmpca::primitives::Blob;
use aws_sdk_acmpca::types::{
    CertificateAuthorityUsageMode, RevocationReason as PcaReason, SigningAlgorithm as PcaAlgorithm,
    ValidityPeriodType,
};
use time::OffsetDateTime;

use super::{CaInfo, CertificateAuthority, IssueRequest, Issued, RevocationReason, UsageMode};
use crate::error::Error;
use crate::key::KeyType;
use crate::pemfile;

/// How long GetCertificate waits for a certificate still being issued, by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The longest the up-front credentials check may take. On EC2/ECS/EKS the metadata
/// services answer in milliseconds; elsewhere the instance-metadata probe would
/// otherwise cost seconds before failing.
const CREDENTIALS_DEADLINE: Duration = Duration::from_secs(3);

/// Attempts per call (first try included) unless `AWS_MAX_ATTEMPTS` says otherwise.
const MAX_ATTEMPTS: u32 = 5;

/// AWS settings shared by the tools that talk to AWS Private CA.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "AWS Private CA (for --ca arn:...)")]
pub struct AwsOptions {
    /// AWS region of the CA [default: the region in the CA ARN].
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config and ~/.aws/credentials.
    #[arg(long, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// ACM-PCA endpoint, e.g. a VPC endpoint or a local emulator [env: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// How long GetCertificate waits for a certificate still being issued [default: 60s];
    /// set by the tools that fetch (pca-get's --wait), not a flag of every tool.
    #[arg(skip)]
    pub wait: Option<Duration>,
}

/// The parts of a certificate-authority ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaArn {
    /// The ARN as given.
    pub arn: String,
    /// Its region.
    pub region: String,
}

impl CaArn {
    /// Checks the shape `arn:PARTITION:acm-pca:REGION:ACCOUNT:certificate-authority/ID`
    /// before any call, so a pasted certificate or template ARN is named as such.
    pub fn parse(arn: &str) -> Result<CaArn, Error> {
        let bad = |why: &str| Error::Argument {
            flag: "--ca",
            reason: format!(
                "{arn:?} is not an AWS Private CA ARN ({why}); expected \
                 arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID"
            ),
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() {
            return Err(bad(
                "it does not have the six ':'-separated parts of an ARN",
            ));
        }
        if parts[2] != "acm-pca" {
            return Err(bad(&format!("its service is {:?}, not acm-pca", parts[2])));
        }
        let Some(id) = parts[5].strip_prefix("certificate-authority/") else {
            return Err(bad("its resource is not certificate-authority/ID"));
        };
        if id.is_empty() || id.contains('/') {
            let why = if id.contains("/certificate/") {
                "it names a certificate, not its CA"
            } else {
                "the CA id after certificate-authority/ is empty or has a '/'"
            };
            return Err(bad(why));
        }
        if parts[3].is_empty() {
            return Err(bad("it has no region"));
        }
        Ok(CaArn {
            arn: arn.to_string(),
            region: parts[3].to_string(),
        })
    }
}

/// A certificate authority in AWS Private CA.
pub struct AwsCa {
    arn: String,
    arn_region: String,
    region: String,
    endpoint: String,
    wait: Duration,
    client: Client,
    rt: tokio::runtime::Runtime,
}

/// The ACM-PCA operations the backend calls, named as in IAM policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Describe,
    Issue,
    Get,
    GetCa,
    Revoke,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Describe => "DescribeCertificateAuthority",
            Op::Issue => "IssueCertificate",
            Op::Get => "GetCertificate",
            Op::GetCa => "GetCertificateAuthorityCertificate",
            Op::Revoke => "RevokeCertificate",
        })
    }
}

impl AwsCa {
    /// Opens the CA named by `arn`: checks the ARN, loads the AWS configuration and
    /// resolves credentials (failing at once when there are none). Makes no ACM-PCA call.
    pub fn open(arn: &str, opts: &AwsOptions) -> Result<AwsCa, Error> {
        let parsed = CaArn::parse(arn)?;
        let region = opts
            .region
            .clone()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| parsed.region.clone());
        let endpoint = endpoint_description(opts, &region);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Ca(format!(
                    "{arn}: cannot start the async runtime for the AWS SDK ({e})"
                ))
            })?;
        let config = rt.block_on(load_config(arn, opts, &region))?;
        Ok(AwsCa {
            arn: parsed.arn,
            arn_region: parsed.region,
            region,
            endpoint,
            wait: opts.wait.unwrap_or(DEFAULT_WAIT),
            client: Client::new(&config),
            rt,
        })
    }

    /// Runs one SDK call to completion, mapping its failure to a sentence about `about`.
    fn call<T, E>(
        &self,
        op: Op,
        about: &str,
        fut: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, Error>
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.rt
            .block_on(fut)
            .map_err(|e| self.sdk_error(op, about, &e))
    }

    fn certificate_arn_check(&self, certificate_arn: &str) -> Result<(), Error> {
        let ok = certificate_arn
            .strip_prefix(&self.arn)
            .and_then(|rest| rest.strip_prefix("/certificate/"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'));
        if ok {
            Ok(())
        } else {
            Err(Error::Ca(format!(
                "{certificate_arn}: not a certificate ARN of the CA {}",
                self.arn
            )))
        }
    }

    /// Turns an SDK failure into one sentence: what failed, on which ARN, what to check.
    fn sdk_error<E>(&self, op: Op, about: &str, err: &SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let endpoint = &self.endpoint;
        let msg = match err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                match e.code() {
                    Some(code) => {
                        self.service_error(op, about, code, e.message().unwrap_or("no message"))
                    }
                    None => format!(
                        "{about}: {op} failed with HTTP status {} from {endpoint} and no AWS error code; is \
                         --endpoint-url pointing at AWS Private CA?",
                        se.raw().status().as_u16()
                    ),
                }
            }
            SdkError::DispatchFailure(d) if d.is_timeout() => format!(
                "{about}: {op}: no connection to the ACM-PCA endpoint {endpoint} within the connect timeout ({}); \
                 check --endpoint-url/AWS_ENDPOINT_URL, --region, and your network or proxy",
                crate::error::root_cause(err)
            ),
            SdkError::DispatchFailure(_) => format!(
                "{about}: {op}: cannot reach the ACM-PCA endpoint {endpoint} ({}); check --endpoint-url/\
                 AWS_ENDPOINT_URL, --region, and your network or proxy",
                crate::error::root_cause(err)
            ),
            SdkError::TimeoutError(_) => format!(
                "{about}: {op}: the ACM-PCA endpoint {endpoint} did not answer in time; retry later, or check \
                 the network path to it"
            ),
            SdkError::ResponseError(_) => format!(
                "{about}: {op}: the answer from {endpoint} is not an ACM-PCA response ({}); is --endpoint-url \
                 pointing at AWS Private CA?",
                crate::error::root_cause(err)
            ),
            _ => format!(
                "{about}: {op}: the request could not be made ({})",
                DisplayErrorContext(err)
            ),
        };
        Error::Ca(msg)
    }

    fn service_error(&self, op: Op, about: &str, code: &str, message: &str) -> String {
        let arn = &self.arn;
        match code {
            "AccessDeniedException" => format!(
                "{about}: access denied for {op} ({message}); the AWS identity in use needs acm-pca:{op} on {arn}: \
                 check its IAM policy, the CA's resource policy, and that --profile/AWS_PROFILE is the one you meant"
            ),
            "ResourceNotFoundException" => {
                let mut s = format!(
                    "{about}: not found in region {} ({message}); check the ARN (account and CA id) and the region",
                    self.region
                );
                if self.region != self.arn_region {
                    s.push_str(&format!(
                        "; the ARN names region {} but the request went to {} (from --region or AWS_REGION): drop \
                         --region or set it to {}",
                        self.arn_region, self.region, self.arn_region
                    ));
                }
                s
            }
            "InvalidStateException" => format!(
                "{arn}: the CA's state does not allow {op} ({message}); it must be ACTIVE with its CA certificate \
                 imported: check with `aws acm-pca describe-certificate-authority --certificate-authority-arn {arn}`"
            ),
            "MalformedCSRException" => format!(
                "{about}: AWS Private CA refused the CSR as malformed ({message}); make a new key and CSR with pca-csr"
            ),
            "InvalidArnException" => format!(
                "{about}: AWS Private CA says this is not a valid ARN ({message}); expected \
                 arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID (the account is 12 digits)"
            ),
            "InvalidArgsException" | "ValidationException" | "InvalidRequestException" => {
                let hint = match op {
                    Op::Issue => {
                        "check --template, --validity and --signing-algorithm against the CA"
                    }
                    Op::Revoke => "check the certificate's serial number and --reason",
                    _ => "check the arguments",
                };
                format!("{about}: AWS Private CA refused {op} ({code}: {message}); {hint}")
            }
            "ThrottlingException" | "TooManyRequestsException" => format!(
                "{about}: AWS Private CA kept throttling {op} after retries with backoff ({message}); the request \
                 rate quota is exhausted: rerun later (a rerun returns the same certificate), pace the run, or raise \
                 AWS_MAX_ATTEMPTS"
            ),
            "LimitExceededException" => format!(
                "{about}: an AWS Private CA quota was reached during {op} ({message}); see the ACM-PCA quotas in \
                 Service Quotas"
            ),
            "RequestAlreadyProcessedException" if op == Op::Revoke => {
                format!("{about}: already revoked ({message}); nothing to do")
            }
            "RequestFailedException" => {
                format!("{about}: AWS Private CA could not complete {op} ({message}); retry later")
            }
            "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
            | "ExpiredToken"
            | "ExpiredTokenException" => format!(
                "{about}: AWS rejected the credentials for {op} ({code}: {message}); check AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or the profile (--profile/AWS_PROFILE), and refresh \
                 them if they expired (e.g. `aws sso login`)"
            ),
            _ => format!("{about}: {op} failed ({code}: {message})"),
        }
    }
}

impl CertificateAuthority for AwsCa {
    fn id(&self) -> String {
        self.arn.clone()
    }

    fn describe(&self) -> Result<CaInfo, Error> {
        let out = self.call(
            Op::Describe,
            &self.arn,
            self.client
                .describe_certificate_authority()
                .certificate_authority_arn(&self.arn)
                .send(),
        )?;
        let ca = out.certificate_authority().ok_or_else(|| {
            Error::Ca(format!(
                "{}: DescribeCertificateAuthority returned no CA",
                self.arn
            ))
        })?;
        let key_algorithm = ca
            .certificate_authority_configuration()
            .map(|c| c.key_algorithm().as_str())
            .unwrap_or("none");
        let key_type = match key_algorithm {
            "RSA_2048" => KeyType::Rsa2048,
            "RSA_3072" => KeyType::Rsa3072,
            "RSA_4096" => KeyType::Rsa4096,
            "EC_prime256v1" => KeyType::EcdsaP256,
            "EC_secp384r1" => KeyType::EcdsaP384,
            other => {
                return Err(Error::Ca(format!(
                    "{}: the CA's key algorithm is {other}; these tools issue from RSA_2048/3072/4096, \
                     EC_prime256v1 and EC_secp384r1 CAs only",
                    self.arn
                )));
            }
        };
        let status = ca
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into());
        let usage_mode = match ca.usage_mode() {
            Some(CertificateAuthorityUsageMode::ShortLivedCertificate) => {
                UsageMode::ShortLivedCertificate
            }
            _ => UsageMode::GeneralPurpose,
        };
        // Describe's NotAfter is the CA certificate's; absent before it is imported.
        let not_after = ca
            .not_after()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok());
        Ok(CaInfo {
            id: self.arn.clone(),
            key_type,
            usage_mode,
            active: status == "ACTIVE",
            status,
            not_after,
        })
    }

    fn issue(&self, req: &IssueRequest) -> Result<String, Error> {
        let csr_pem = pemfile::encode("CERTIFICATE REQUEST", [req.csr.der.as_slice()]);
        let (kind, value) = req.validity.to_pca();
        let validity = aws_sdk_acmpca::types::Validity::builder()
            .r#type(ValidityPeriodType::from(kind))
            .value(value)
            .build()
            .map_err(|e| {
                Error::Ca(format!(
                    "{}: cannot express validity {} for PCA ({e})",
                    self.arn, req.validity
                ))
            })?;
        let about = format!("{} (CSR from {})", self.arn, req.csr.source);
        let out = self.call(
            Op::Issue,
            &about,
            self.client
                .issue_certificate()
                .certificate_authority_arn(&self.arn)
                .csr(Blob::new(csr_pem.into_bytes()))
                .template_arn(req.template.arn())
                .signing_algorithm(PcaAlgorithm::from(req.signing_algorithm.name()))
                .validity(validity)
                .idempotency_token(&req.idempotency_token)
                .send(),
        )?;
        out.certificate_arn().map(str::to_string).ok_or_else(|| {
            Error::Ca(format!(
                "{}: IssueCertificate returned no certificate ARN",
                self.arn
            ))
        })
    }

    fn get(&self, certificate_id: &str) -> Result<Issued, Error> {
        self.certificate_arn_check(certificate_id)?;
        let started = Instant::now();
        let deadline = started + self.wait;
        let progress = Progress::new(certificate_id);
        let mut delay = Duration::from_millis(250);
        let out = loop {
            let sent = self
                .client
                .get_certificate()
                .certificate_authority_arn(&self.arn)
                .certificate_arn(certificate_id)
                .send();
            match self.rt.block_on(sent) {
                Ok(out) => break out,
                Err(e) if e.code() == Some("RequestInProgressException") => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::Ca(format!(
                            "{certificate_id}: AWS Private CA was still issuing the certificate \
                             (RequestInProgressException) when the wait deadline of {} passed; run pca-get again \
                             later with the same certificate id, or pass a longer --wait",
                            crate::cli::show_duration(self.wait)
                        )));
                    }
                    progress.waiting(started.elapsed(), self.wait);
                    std::thread::sleep(jitter(delay).min(deadline - now));
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(self.sdk_error(Op::Get, certificate_id, &e)),
            }
        };
        progress.done();
        Issued::from_pem(
            out.certificate(),
            out.certificate_chain(),
            &format!("GetCertificate answer for {certificate_id}"),
            || {
                Error::Ca(format!(
                    "{certificate_id}: GetCertificate returned no certificate"
                ))
            },
        )
    }

    fn ca_certificate(&self) -> Result<Issued, Error> {
        let out = self.call(
            Op::GetCa,
            &self.arn,
            self.client
                .get_certificate_authority_certificate()
                .certificate_authority_arn(&self.arn)
                .send(),
        )?;
        // A root CA has no chain; a subordinate's runs from its issuer up to the root.
        Issued::from_pem(
            out.certificate(),
            out.certificate_chain(),
            &format!("GetCertificateAuthorityCertificate answer for {}", self.arn),
            || {
                Error::Ca(format!(
                    "{}: the CA has no certificate yet; import one before issuing",
                    self.arn
                ))
            },
        )
    }

    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<(), Error> {
        let serial = colon_hex(serial);
        let about = format!("{} (certificate serial {serial})", self.arn);
        self.call(
            Op::Revoke,
            &about,
            self.client
                .revoke_certificate()
                .certificate_authority_arn(&self.arn)
                .certificate_serial(&serial)
                .revocation_reason(PcaReason::from(reason.name()))
                .send(),
        )?;
        Ok(())
    }
}

/// Which link of the credentials chain failed, and how.
#[derive(Debug)]
struct SourceFailed {
    source: Source,
    cause: CredentialsError,
}

impl fmt::Display for SourceFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source.describe(), chain_text(&self.cause))
    }
}

impl StdError for SourceFailed {}

/// The SDK's default credential sources, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Environment,
    Profile,
    WebIdentity,
    Container,
    InstanceMetadata,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Environment => "the environment (AWS_ACCESS_KEY_ID)",
            Source::Profile => "the shared config and credentials files",
            Source::WebIdentity => "the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)",
            Source::Container => "the container credentials endpoint",
            Source::InstanceMetadata => "the EC2 instance-metadata service",
        }
    }
}

/// A credential source whose hard failures name it, so the message can say which
/// source was misconfigured rather than "could not load credentials".
#[derive(Debug)]
struct Tagged<P> {
    source: Source,
    inner: P,
}

impl<P: ProvideCredentials> ProvideCredentials for Tagged<P> {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.inner
                .provide_credentials()
                .await
                .map_err(|cause| match cause {
                    // "Not here" lets the chain go on to the next source, as the SDK's does.
                    CredentialsError::CredentialsNotLoaded(_) => cause,
                    _ => CredentialsError::provider_error(SourceFailed {
                        source: self.source,
                        cause,
                    }),
                })
        })
    }
}

/// The SDK's default credentials chain (environment, profile, web identity, container,
/// instance metadata), with a single short instance-metadata attempt: on EC2 it answers
/// at once, and elsewhere the SDK's default retries are what make tools hang.
fn credentials_chain(opts: &AwsOptions, region: &Region) -> CredentialsProviderChain {
    let conf = ProviderConfig::default().with_region(Some(region.clone()));
    let mut profile = ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(p) = &opts.profile {
        profile = profile.profile_name(p);
    }
    let imds = aws_config::imds::Client::builder()
        .configure(&conf)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .max_attempts(1)
        .build();
    let tag = |source, inner| Tagged { source, inner };
    CredentialsProviderChain::first_try(
        "Environment",
        tag(
            Source::Environment,
            EnvironmentVariableCredentialsProvider::new(),
        ),
    )
    .or_else(
        "Profile",
        Tagged {
            source: Source::Profile,
            inner: profile.build(),
        },
    )
    .or_else(
        "WebIdentityToken",
        Tagged {
            source: Source::WebIdentity,
            inner: WebIdentityTokenCredentialsProvider::builder()
                .configure(&conf)
                .build(),
        },
    )
    .or_else(
        "EcsContainer",
        Tagged {
            source: Source::Container,
            inner: EcsCredentialsProvider::builder().configure(&conf).build(),
        },
    )
    .or_else(
        "Ec2InstanceMetadata",
        Tagged {
            source: Source::InstanceMetadata,
            inner: ImdsCredentialsProvider::builder()
                .configure(&conf)
                .imds_client(imds)
                .build(),
        },
    )
}

/// Loads the SDK configuration and proves credentials exist before any call is made.
async fn load_config(
    arn: &str,
    opts: &AwsOptions,
    region: &str,
) -> Result<aws_config::SdkConfig, Error> {
    let region = Region::new(region.to_string());
    let chain = credentials_chain(opts, &region);
    let checked = tokio::time::timeout(CREDENTIALS_DEADLINE, chain.provide_credentials()).await;
    match checked {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(credentials_error(arn, opts, &e)),
        Err(_) => {
            return Err(no_credentials(
                arn,
                opts,
                &format!(
                    "the EC2 instance-metadata service did not answer within {}",
                    crate::cli::show_duration(CREDENTIALS_DEADLINE)
                ),
            ));
        }
    }
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_ATTEMPTS);
    let retry = RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(chain)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    Ok(loader.load().await)
}

fn credentials_error(arn: &str, opts: &AwsOptions, e: &CredentialsError) -> Error {
    let failed = StdError::source(e).and_then(|s| s.downcast_ref::<SourceFailed>());
    match failed {
        // The last source: on a laptop, "forbidden", "unreachable" or "no role" all mean
        // there are no credentials here, which is what the user needs to hear.
        Some(f) if f.source == Source::InstanceMetadata => no_credentials(
            arn,
            opts,
            &format!(
                "the EC2 instance-metadata service: {}",
                chain_text(&f.cause)
            ),
        ),
        Some(f) => {
            let fix = match f.source {
                Source::Environment => {
                    "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
                }
                Source::Profile => {
                    "check --profile/AWS_PROFILE and that profile in ~/.aws/config and ~/.aws/credentials"
                }
                Source::WebIdentity => "check AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN",
                Source::Container => "check AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI",
                Source::InstanceMetadata => "",
            };
            Error::Ca(format!("{arn}: the AWS credentials from {f}; {fix}"))
        }
        None => match e {
            CredentialsError::CredentialsNotLoaded(_) => {
                no_credentials(arn, opts, "no source had any")
            }
            _ => Error::Ca(format!(
                "{arn}: the AWS credentials could not be loaded ({})",
                chain_text(e)
            )),
        },
    }
}

fn no_credentials(arn: &str, opts: &AwsOptions, detail: &str) -> Error {
    let profile = match &opts.profile {
        Some(p) => format!(" (profile {p:?})"),
        None => String::new(),
    };
    let half_set = match (
        std::env::var_os("AWS_ACCESS_KEY_ID"),
        std::env::var_os("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(_), None) => "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; ",
        (None, Some(_)) => "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; ",
        _ => "",
    };
    Error::Ca(format!(
        "{arn}: no AWS credentials found (looked in the environment, the shared config and credentials \
         files{profile}, web identity, the container endpoint and the EC2 instance-metadata service; {detail}); \
         {half_set}set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary \
         credentials), or name a profile with --profile or AWS_PROFILE (`aws configure` or `aws sso login` makes one)"
    ))
}

/// An error and its causes on one line, without the SDK's Debug dump.
fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        // Wrappers often repeat their cause's text; keep each piece once.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Where requests go, for messages: the explicit endpoint, else the regional one.
fn endpoint_description(opts: &AwsOptions, region: &str) -> String {
    opts.endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_ACM_PCA").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| format!("https://acm-pca.{region}.amazonaws.com"))
}

/// A serial as PCA documents it: hex bytes separated by colons, as `openssl x509 -text`
/// prints it (no leading zero byte).
pub(crate) fn colon_hex(serial: &str) -> String {
    let hex: String = serial
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase();
    let hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex
    };
    let bytes: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    let start = bytes
        .iter()
        .position(|b| *b != "00")
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].join(":")
}

/// `d` scaled by a random factor in [0.5, 1): spreads out concurrent pollers.
fn jitter(d: Duration) -> Duration {
    let r = getrandom::u32().unwrap_or(u32::MAX / 2);
    d.mul_f64(0.5 + f64::from(r) / f64::from(u32::MAX) / 2.0)
}

/// A one-line spinner on stderr while GetCertificate waits, only when stderr is a
/// terminal: pipelines and logs stay clean, and a ready certificate draws nothing.
struct Progress {
    bar: std::cell::OnceCell<indicatif::ProgressBar>,
    what: String,
}

impl Progress {
    fn new(what: &str) -> Progress {
        Progress {
            bar: std::cell::OnceCell::new(),
            what: what.to_string(),
        }
    }

    fn waiting(&self, elapsed: Duration, wait: Duration) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(format!(
            "waiting for AWS Private CA to issue {} ({}s of at most {})",
            self.what,
            elapsed.as_secs(),
            crate::cli::show_duration(wait)
        ));
    }

    fn done(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // On a timeout or error too, leave the terminal line clean for the message.
        self.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA handle that never touches the network, for the message table.
    fn offline_ca(region: &str) -> AwsCa {
        let config = aws_sdk_acmpca::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .build();
        AwsCa {
            arn: "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/ca1".into(),
            arn_region: "us-east-1".into(),
            region: region.into(),
            endpoint: format!("https://acm-pca.{region}.amazonaws.com"),
            wait: DEFAULT_WAIT,
            client: Client::from_conf(config),
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        }
    }

    #[test]
    fn each_pca_error_says_what_to_check() {
        let ca = offline_ca("us-east-1");
        let arn = ca.arn.clone();
        for (op, code, needles) in [
            (
                Op::Issue,
                "AccessDeniedException",
                &["access denied", "acm-pca:IssueCertificate", "IAM policy"][..],
            ),
            (
                Op::Describe,
                "ResourceNotFoundException",
                &["not found in region us-east-1", "check the ARN"],
            ),
            (
                Op::Issue,
                "InvalidStateException",
                &["must be ACTIVE", "describe-certificate-authority"],
            ),
            (
                Op::Issue,
                "MalformedCSRException",
                &["refused the CSR as malformed", "pca-csr"],
            ),
            (
                Op::Describe,
                "InvalidArnException",
                &["not a valid ARN", "certificate-authority/ID"],
            ),
            (
                Op::Issue,
                "InvalidArgsException",
                &["--template, --validity and --signing-algorithm"],
            ),
            (
                Op::Issue,
                "ValidationException",
                &["--template, --validity and --signing-algorithm"],
            ),
            (
                Op::Revoke,
                "InvalidRequestException",
                &["serial number and --reason"],
            ),
            (
                Op::Issue,
                "ThrottlingException",
                &["kept throttling IssueCertificate", "AWS_MAX_ATTEMPTS"],
            ),
            (
                Op::Revoke,
                "RequestAlreadyProcessedException",
                &["already revoked"],
            ),
            (
                Op::Get,
                "UnrecognizedClientException",
                &["rejected the credentials", "AWS_ACCESS_KEY_ID"],
            ),
            (
                Op::Get,
                "ExpiredTokenException",
                &["rejected the credentials", "aws sso login"],
            ),
            (
                Op::Get,
                "SomethingNew",
                &["GetCertificate failed (SomethingNew: boom)"],
            ),
        ] {
            let msg = ca.service_error(op, &arn, code, "boom");
            assert!(msg.starts_with(&arn), "{code}: {msg}");
            for n in needles {
                assert!(msg.contains(n), "{code}: {msg:?} lacks {n:?}");
            }
        }
        let elsewhere = offline_ca("eu-west-1").service_error(
            Op::Describe,
            &arn,
            "ResourceNotFoundException",
            "x",
        );
        assert!(
            elsewhere.contains("the ARN names region us-east-1"),
            "{elsewhere}"
        );
    }

    #[test]
    fn arns_are_checked_before_any_call() {
        let ok =
            CaArn::parse("arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/abc-123")
                .unwrap();
        assert_eq!(ok.region, "eu-west-1");
        for (bad, says) in [
            (
                "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
                "not acm-pca",
            ),
            (
                "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/abc/certificate/def",
                "names a certificate",
            ),
            (
                "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1",
                "certificate-authority/ID",
            ),
            (
                "arn:aws:acm-pca::123456789012:certificate-authority/abc",
                "no region",
            ),
            ("arn:aws:acm-pca", "six"),
        ] {
            let e = CaArn::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn serials_as_pca_takes_them() {
        assert_eq!(colon_hex("00a1b2"), "a1:b2");
        assert_eq!(colon_hex("4F2A"), "4f:2a");
        assert_eq!(colon_hex("abc"), "0a:bc");
        assert_eq!(colon_hex("00"), "00");
    }
}
