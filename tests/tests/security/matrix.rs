//! The authorisation matrix: every method of the suite, called by every
//! role, is granted or refused as the shipped access table says, whatever
//! the protocol. The expectations are written here once, independently of
//! the table's patterns; this module checks them over gRPC, `protocols.rs`
//! over Connect (JSON, GET, streams) and gRPC-Web.

use prost_reflect::{DescriptorPool, MethodDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::*;

/// How the gateway answered a call, as far as the guard is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No valid identity.
    Unauthenticated,
    /// An identity that may not call the method.
    PermissionDenied,
    /// Past the guard, whatever the service then answered.
    Passed,
}

impl Verdict {
    /// The verdict a gRPC status code gives.
    pub(crate) fn of(code: Code) -> Verdict {
        match code {
            Code::Unauthenticated => Verdict::Unauthenticated,
            Code::PermissionDenied => Verdict::PermissionDenied,
            _ => Verdict::Passed,
        }
    }
}

/// Who calls, in the matrix: a name and a bearer token (none for the first).
pub(crate) fn callers(s: &Setup) -> Vec<(&'static str, Option<String>)> {
    let token = |client: &str| Some(s.signer.token("k1", client, "innolab", 600));
    vec![
        ("no identity", None),
        ("admin", token(ADMIN)),
        ("reader", token(READER)),
        ("reviewer", token(REVIEWER)),
        ("member editor", token(EDITOR)),
        ("unlisted", token(UNLISTED)),
    ]
}

/// The name of the matrix's caller that presents a certificate of a client
/// the table does not list (and no token).
pub(crate) const UNLISTED_CERTIFICATE: &str = "unlisted certificate";

/// What `who` must get calling `method`.
pub(crate) fn expected(who: &str, method: &MethodDescriptor) -> Verdict {
    let full = full_name(method);
    let granted = match who {
        "no identity" => return Verdict::Unauthenticated,
        "admin" => true,
        "reader" => reader_may(method.name()),
        "reviewer" => reviewer_may(&full),
        // Empty requests name no organisation of the editor's: every write
        // is refused by the ownership check, and nothing else is granted to
        // the role.
        "member editor" => false,
        _ => false,
    };
    if granted {
        Verdict::Passed
    } else {
        Verdict::PermissionDenied
    }
}

/// Every method of the suite's own services (more than 80).
pub(crate) fn methods() -> Vec<MethodDescriptor> {
    let pool = DescriptorPool::decode(innolab_proto::FILE_DESCRIPTOR_SET).unwrap();
    let methods: Vec<MethodDescriptor> = pool
        .services()
        .filter(|s| s.full_name().starts_with("innolab."))
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .collect();
    assert!(methods.len() > 80, "only {} methods found", methods.len());
    methods
}

/// `package.Service/Method`.
pub(crate) fn full_name(method: &MethodDescriptor) -> String {
    format!("{}/{}", method.parent_service().full_name(), method.name())
}

/// What a reader may call, by method name.
fn reader_may(name: &str) -> bool {
    // What one person's data holds is for lab administrators only, whatever
    // a reader's wildcards say.
    if ["ExportPersonData", "FindPersonReferences"].contains(&name) {
        return false;
    }
    [
        "Get",
        "List",
        "Search",
        "Summarize",
        "Export",
        "Download",
        "Render",
        "Compare",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == "StreamChanges"
        || name == "FindSimilar"
}

fn reviewer_may(full: &str) -> bool {
    full == "innolab.impact.v1.ImpactService/ReviewAssessment"
        || full == "innolab.initiatives.v1.InitiativesService/ScreenSubmission"
}

/// Passes bytes through unchanged: an empty message is valid for any method.
#[derive(Debug, Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// Calls `method` over gRPC with an empty message; the status code (OK when
/// the call or the stream's first message succeeds).
async fn call(channel: &Channel, method: &MethodDescriptor, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::try_from(format!("/{}", full_name(method))).unwrap();
    let outcome = match (method.is_client_streaming(), method.is_server_streaming()) {
        (false, false) => grpc
            .unary(with_token(Vec::new(), token), path, RawCodec)
            .await
            .map(|_| ()),
        (false, true) => match grpc
            .server_streaming(with_token(Vec::new(), token), path, RawCodec)
            .await
        {
            Ok(response) => response.into_inner().message().await.map(|_| ()),
            Err(status) => Err(status),
        },
        (true, false) => grpc
            .client_streaming(
                with_token(tokio_stream::iter(Vec::<Vec<u8>>::new()), token),
                path,
                RawCodec,
            )
            .await
            .map(|_| ()),
        (true, true) => panic!("no method of the suite streams both ways"),
    };
    match outcome {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_is_closed_to_every_role_that_was_not_granted_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/editor-org");
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&s.vars).unwrap()).await;
    let (cert, key) = s.ca.sign(&[], &["xroad:RO/GOV/0/anyone"]);
    let certificate_channel = connect(&suite, &s.ca.pem, Some((cert, key))).await.unwrap();
    // The certificate's client is not in the table; tokens name the roles
    // (a token is only read when no certificate is presented).
    let token_channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let callers = callers(&s);
    for method in methods() {
        let full = full_name(&method);
        for (who, token) in &callers {
            let code = call(&token_channel, &method, token.as_deref()).await;
            assert_eq!(
                Verdict::of(code),
                expected(who, &method),
                "{who} calling {full}: {code:?}"
            );
        }
        let code = call(&certificate_channel, &method, None).await;
        assert_eq!(
            Verdict::of(code),
            expected(UNLISTED_CERTIFICATE, &method),
            "{UNLISTED_CERTIFICATE} calling {full}: {code:?}"
        );
    }
    suite.stop().await;
}
