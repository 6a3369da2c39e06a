//! gRPC server reflection (`grpc.reflection.v1` and `v1alpha`), as the
//! protocol expects: a request the server cannot answer (an unknown symbol or
//! file) gets an `error_response` on the stream, which stays open for the
//! client's next request (tonic-reflection ends the whole stream instead, so
//! grpcurl and Postman lose the session on a typo).
//!
//! The files are served as the descriptor sets hold them (raw bytes, custom
//! options kept), one file per answer; a client asks for dependencies by name.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use prost::Message as _;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};
use tokio_stream::StreamExt as _;
use tonic::{Code, Request, Response, Status, Streaming};

/// A descriptor set read only as far as its files' bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// What reflection can tell: every file by name, the file defining each
/// symbol, the services.
#[derive(Debug, Default)]
pub struct Index {
    files: HashMap<String, Arc<[u8]>>,
    symbols: HashMap<String, Arc<[u8]>>,
    services: Vec<String>,
}

impl Index {
    /// The index of `sets` (encoded `FileDescriptorSet`s); the first file of
    /// a name wins.
    pub fn new(sets: &[&[u8]]) -> anyhow::Result<Index> {
        let mut index = Index::default();
        for set in sets {
            for raw in RawSet::decode(*set)?.file {
                let file = FileDescriptorProto::decode(raw.as_slice())?;
                let name = file.name().to_string();
                if index.files.contains_key(&name) {
                    continue;
                }
                let raw: Arc<[u8]> = Arc::from(raw);
                index.files.insert(name, raw.clone());
                let package = file.package();
                let scoped = |name: &str| {
                    if package.is_empty() {
                        name.to_string()
                    } else {
                        format!("{package}.{name}")
                    }
                };
                for message in &file.message_type {
                    index.message(&scoped(message.name()), message, &raw);
                }
                for en in &file.enum_type {
                    index.enumeration(&scoped(en.name()), en, &raw);
                }
                for extension in &file.extension {
                    index.symbols.insert(scoped(extension.name()), raw.clone());
                }
                for service in &file.service {
                    let full = scoped(service.name());
                    for method in &service.method {
                        index
                            .symbols
                            .insert(format!("{full}.{}", method.name()), raw.clone());
                    }
                    index.symbols.insert(full.clone(), raw.clone());
                    index.services.push(full);
                }
            }
        }
        index.services.sort();
        index.services.dedup();
        Ok(index)
    }

    fn message(&mut self, full: &str, message: &DescriptorProto, raw: &Arc<[u8]>) {
        self.symbols.insert(full.to_string(), raw.clone());
        for field in &message.field {
            self.symbols
                .insert(format!("{full}.{}", field.name()), raw.clone());
        }
        for nested in &message.nested_type {
            self.message(&format!("{full}.{}", nested.name()), nested, raw);
        }
        for en in &message.enum_type {
            self.enumeration(&format!("{full}.{}", en.name()), en, raw);
        }
    }

    fn enumeration(&mut self, full: &str, en: &EnumDescriptorProto, raw: &Arc<[u8]>) {
        self.symbols.insert(full.to_string(), raw.clone());
        for value in &en.value {
            // Enum values are scoped like their enum's siblings (protobuf's rule).
            let parent = full.rsplit_once('.').map_or("", |(p, _)| p);
            let name = if parent.is_empty() {
                value.name().to_string()
            } else {
                format!("{parent}.{}", value.name())
            };
            self.symbols.insert(name, raw.clone());
        }
    }
}

/// What one request is answered with.
enum Answer {
    Files(Vec<Vec<u8>>),
    Services(Vec<String>),
    ExtensionNumbers(String),
    Error(Code, String),
}

impl Index {
    fn answer(&self, request: Option<Asked>) -> Answer {
        let file = |found: Option<&Arc<[u8]>>, what: String| match found {
            Some(raw) => Answer::Files(vec![raw.to_vec()]),
            None => Answer::Error(Code::NotFound, what),
        };
        match request {
            None => Answer::Error(Code::InvalidArgument, "the request asks nothing".into()),
            Some(Asked::File(name)) => {
                let what = format!("no file {name:?}");
                file(self.files.get(&name), what)
            }
            Some(Asked::Symbol(symbol)) => {
                let what = format!("no symbol {symbol:?}");
                file(self.symbols.get(&symbol), what)
            }
            Some(Asked::Extension(of, number)) => Answer::Error(
                Code::NotFound,
                format!("no extension {number} of {of:?} (extensions are not served)"),
            ),
            // Some clients (grpcurl) expect this not to fail: none are served.
            Some(Asked::ExtensionNumbers(of)) => Answer::ExtensionNumbers(of),
            Some(Asked::Services) => Answer::Services(self.services.clone()),
        }
    }
}

/// One request, whichever version asked it.
enum Asked {
    File(String),
    Symbol(String),
    Extension(String, i32),
    ExtensionNumbers(String),
    Services,
}

type Stream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// Implements one version of the service over [`Index`]; both versions have
/// the same messages, in different packages.
macro_rules! reflection {
    ($version:ident) => {
        pub mod $version {
            //! The service of this version of the reflection protocol.
            use super::*;
            use pb::server_reflection_request::MessageRequest;
            use pb::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$version as pb;

            /// The service, over a shared index.
            #[derive(Debug, Clone)]
            pub struct Service(pub Arc<Index>);

            /// The tonic server of [`Service`].
            pub type Server = pb::server_reflection_server::ServerReflectionServer<Service>;

            /// The server for `index`.
            pub fn server(index: Arc<Index>) -> Server {
                pb::server_reflection_server::ServerReflectionServer::new(Service(index))
            }

            fn asked(request: Option<MessageRequest>) -> Option<Asked> {
                Some(match request? {
                    MessageRequest::FileByFilename(name) => Asked::File(name),
                    MessageRequest::FileContainingSymbol(symbol) => Asked::Symbol(symbol),
                    MessageRequest::FileContainingExtension(e) => {
                        Asked::Extension(e.containing_type, e.extension_number)
                    }
                    MessageRequest::AllExtensionNumbersOfType(of) => Asked::ExtensionNumbers(of),
                    MessageRequest::ListServices(_) => Asked::Services,
                })
            }

            #[tonic::async_trait]
            impl pb::server_reflection_server::ServerReflection for Service {
                type ServerReflectionInfoStream = Stream<pb::ServerReflectionResponse>;

                async fn server_reflection_info(
                    &self,
                    request: Request<Streaming<pb::ServerReflectionRequest>>,
                ) -> Result<Response<Self::ServerReflectionInfoStream>, Status> {
                    let index = self.0.clone();
                    let answers = request.into_inner().map(move |request| {
                        let request = request?;
                        let response = match index.answer(asked(request.message_request.clone())) {
                            Answer::Files(files) => MessageResponse::FileDescriptorResponse(
                                pb::FileDescriptorResponse {
                                    file_descriptor_proto: files,
                                },
                            ),
                            Answer::Services(names) => {
                                MessageResponse::ListServicesResponse(pb::ListServiceResponse {
                                    service: names
                                        .into_iter()
                                        .map(|name| pb::ServiceResponse { name })
                                        .collect(),
                                })
                            }
                            Answer::ExtensionNumbers(base_type_name) => {
                                MessageResponse::AllExtensionNumbersResponse(
                                    pb::ExtensionNumberResponse {
                                        base_type_name,
                                        extension_number: Vec::new(),
                                    },
                                )
                            }
                            Answer::Error(code, message) => {
                                MessageResponse::ErrorResponse(pb::ErrorResponse {
                                    error_code: code as i32,
                                    error_message: message,
                                })
                            }
                        };
                        Ok(pb::ServerReflectionResponse {
                            valid_host: request.host.clone(),
                            original_request: Some(request),
                            message_response: Some(response),
                        })
                    });
                    Ok(Response::new(Box::pin(answers)))
                }
            }
        }
    };
}

reflection!(v1);
reflection!(v1alpha);
