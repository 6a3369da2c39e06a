//! The gRPC API: protobuf <-> domain, and nothing else. The only module of the
//! service that knows generated types: the handlers here, the conversions in
//! [`convert`].

mod convert;

use std::pin::Pin;

use innolab_kit::api::{self, ChangeStream, Pages, Reply, ServerStream, id, merge, reply};
use innolab_kit::page::PageTokens;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::guidance::v1 as pb;
use pb::guidance_service_server::GuidanceService;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::Options;
use crate::domain::{
    self, Action, DocumentQuery, EditionQuery, EditionRef, SearchQuery, Transition, check,
};
use crate::export;
use crate::store::{Page, Store};
use crate::upload::{Announced, upload};
use convert::{
    attachment_fields, attachment_pb, document_pb, edition_fields, edition_pb, hit_pb,
    valid_document,
};

/// The GuidanceService implementation.
#[derive(Debug, Clone)]
pub struct GuidanceApi {
    store: Store,
    pages: Pages,
    options: Options,
}

impl GuidanceApi {
    /// An API over `store`, signing page tokens with `tokens`.
    pub fn new(store: Store, tokens: PageTokens, options: Options) -> Self {
        GuidanceApi {
            store,
            pages: Pages::new(tokens),
            options,
        }
    }

    async fn transition(
        &self,
        action: Action,
        name: &str,
        etag: &str,
        reason: &str,
    ) -> Result<pb::Edition, Error> {
        let (document_id, number) = edition_number(name)?;
        let mut v = Violations::new();
        let expected = v.merge(domain::parse_etag(etag)).flatten();
        let transition = v.merge(Transition::new(action, reason, expected));
        v.finish()?;
        let transition = transition.ok_or_else(|| Error::Internal("transition".into()))?;
        Ok(edition_pb(
            self.store
                .transition_edition(&document_id, number, &transition)
                .await?,
        ))
    }

    async fn receive(
        &self,
        mut stream: Streaming<pb::UploadAttachmentRequest>,
    ) -> Result<pb::Attachment, Error> {
        let first = next_part(&mut stream).await?;
        let Some(pb::upload_attachment_request::Part::Metadata(meta)) = first else {
            return Err(Error::invalid(
                "metadata",
                "the first message of an upload must carry the metadata",
            ));
        };
        let document_id = id("metadata.parent", &meta.parent, "documents")?;
        let request_id = domain::request_id(&meta.request_id).map_err(|e| e.within("metadata"))?;
        let fields = meta
            .attachment
            .ok_or_else(|| Error::invalid("metadata.attachment", "is required"))
            .map(attachment_fields)?
            .validate()
            .map_err(|e| e.within("metadata.attachment"))?;
        let announced = Announced {
            document_id,
            fields,
            request_id,
        };
        let chunks = chunks(stream);
        let stored = upload(
            &self.store,
            self.options.max_attachment_bytes,
            announced,
            chunks,
        )
        .await?;
        Ok(attachment_pb(stored))
    }
}

/// The chunks after an upload's first message; a second metadata message,
/// an empty message or a broken stream ends them with an error.
fn chunks(
    stream: Streaming<pb::UploadAttachmentRequest>,
) -> impl Stream<Item = Result<Vec<u8>, Error>> {
    tokio_stream::StreamExt::map(stream, |message| match part(message)? {
        pb::upload_attachment_request::Part::Chunk(chunk) => Ok(chunk),
        pb::upload_attachment_request::Part::Metadata(_) => Err(Error::invalid(
            "metadata",
            "only the first message carries metadata",
        )),
    })
}

/// The next part of an upload; `None` at the end of the stream.
async fn next_part(
    stream: &mut Streaming<pb::UploadAttachmentRequest>,
) -> Result<Option<pb::upload_attachment_request::Part>, Error> {
    stream.message().await.transpose().map(part).transpose()
}

/// The part a message of an upload carries. A broken stream is reported as
/// the client's cancellation.
fn part(
    message: Result<pb::UploadAttachmentRequest, Status>,
) -> Result<pb::upload_attachment_request::Part, Error> {
    match message {
        Ok(pb::UploadAttachmentRequest { part: Some(part) }) => Ok(part),
        Ok(pb::UploadAttachmentRequest { part: None }) => Err(Error::invalid(
            "part",
            "every message carries metadata or a chunk",
        )),
        Err(status) => Err(Error::invalid(
            "chunk",
            format!("the upload stream broke off: {}", status.message()),
        )),
    }
}

/// The document id and number of an edition name (not `current`).
fn edition_number(name: &str) -> Result<(String, i64), Error> {
    match EditionRef::parse(name).map_err(|e| Error::invalid("name", e))? {
        (document, EditionRef::Number(n)) => Ok((document, n)),
        (_, EditionRef::Current) => Err(Error::invalid(
            "name",
            "name a numbered edition, not `current`",
        )),
    }
}

/// The stream DownloadAttachment answers with.
pub type DownloadStream =
    Pin<Box<dyn Stream<Item = Result<pb::DownloadAttachmentResponse, Status>> + Send>>;

#[tonic::async_trait]
impl GuidanceService for GuidanceApi {
    async fn create_document(
        &self,
        request: Request<pb::CreateDocumentRequest>,
    ) -> Reply<pb::Document> {
        let r = request.into_inner();
        reply(
            async {
                let request_id = domain::request_id(&r.request_id)?;
                let doc = r
                    .document
                    .ok_or_else(|| Error::invalid("document", "is required"))?;
                let fields = valid_document(doc).map_err(|e| e.within("document"))?;
                let stored = self
                    .store
                    .create_document(&fields, request_id.as_deref())
                    .await?;
                Ok(document_pb(stored))
            }
            .await,
        )
    }

    async fn get_document(&self, request: Request<pb::GetDocumentRequest>) -> Reply<pb::Document> {
        let r = request.into_inner();
        reply(
            async {
                let id = id("name", &r.name, "documents")?;
                Ok(document_pb(self.store.get_document(&id).await?))
            }
            .await,
        )
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Reply<pb::ListDocumentsResponse> {
        const METHOD: &str = "ListDocuments";
        let r = request.into_inner();
        reply(
            async {
                let query = DocumentQuery::from_filter(&r.filter)?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.filter)?;
                let found = self.store.list_documents(&query, &page).await?;
                Ok(pb::ListDocumentsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.filter, &found),
                    documents: found.items.into_iter().map(document_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_document(
        &self,
        request: Request<pb::UpdateDocumentRequest>,
    ) -> Reply<pb::Document> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .document
                    .ok_or_else(|| Error::invalid("document", "is required"))?;
                let id = id("document.name", &new.name, "documents")?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("document"))?;
                let current = self.store.get_document(&id).await?;
                let read_revision = current.meta.revision;
                let merged = merge(
                    document_pb(current),
                    new,
                    r.update_mask,
                    &[
                        "type",
                        "title",
                        "description",
                        "topics",
                        "creators",
                        "publisher",
                        "license",
                        "related_initiatives",
                        "lifecycle_stages",
                        "issue_date",
                        "modify_date",
                    ],
                    |cur, new, path| match path {
                        "type" => cur.r#type = new.r#type,
                        "title" => cur.title = new.title.clone(),
                        "description" => cur.description = new.description.clone(),
                        "topics" => cur.topics = new.topics.clone(),
                        "creators" => cur.creators = new.creators.clone(),
                        "publisher" => cur.publisher = new.publisher.clone(),
                        "license" => cur.license = new.license.clone(),
                        "related_initiatives" => {
                            cur.related_initiatives = new.related_initiatives.clone()
                        }
                        "lifecycle_stages" => cur.lifecycle_stages = new.lifecycle_stages.clone(),
                        "issue_date" => cur.issue_date = new.issue_date,
                        _ => cur.modify_date = new.modify_date,
                    },
                )?;
                let fields = valid_document(merged).map_err(|e| e.within("document"))?;
                let stored = self
                    .store
                    .update_document(&id, expected, read_revision, &fields)
                    .await?;
                Ok(document_pb(stored))
            }
            .await,
        )
    }

    async fn create_edition(
        &self,
        request: Request<pb::CreateEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(
            async {
                let document_id = id("parent", &r.parent, "documents")?;
                let request_id = domain::request_id(&r.request_id)?;
                let edition = r
                    .edition
                    .ok_or_else(|| Error::invalid("edition", "is required"))?;
                let fields = edition_fields(edition)
                    .validate()
                    .map_err(|e| e.within("edition"))?;
                let stored = self
                    .store
                    .create_edition(&document_id, &fields, request_id.as_deref())
                    .await?;
                Ok(edition_pb(stored))
            }
            .await,
        )
    }

    async fn get_edition(&self, request: Request<pb::GetEditionRequest>) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(
            async {
                let (document_id, which) =
                    EditionRef::parse(&r.name).map_err(|e| Error::invalid("name", e))?;
                let language = if r.language_code.is_empty() {
                    None
                } else {
                    Some(
                        check::language_tag(&r.language_code)
                            .map_err(|e| Error::invalid("language_code", e))?,
                    )
                };
                let edition = self.store.get_edition(&document_id, &which).await?;
                Ok(edition_pb(match language {
                    Some(l) => edition.in_language(&l),
                    None => edition,
                }))
            }
            .await,
        )
    }

    async fn list_editions(
        &self,
        request: Request<pb::ListEditionsRequest>,
    ) -> Reply<pb::ListEditionsResponse> {
        const METHOD: &str = "ListEditions";
        let r = request.into_inner();
        reply(
            async {
                let document_id = id("parent", &r.parent, "documents")?;
                let query = EditionQuery::from_filter(&r.filter)?;
                let scope = format!("{}\n{}", r.parent, r.filter);
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &scope)?;
                let found = self
                    .store
                    .list_editions(&document_id, &query, &page)
                    .await?;
                Ok(pb::ListEditionsResponse {
                    next_page_token: self.pages.next_token(METHOD, &scope, &found),
                    editions: found.items.into_iter().map(edition_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn update_edition(
        &self,
        request: Request<pb::UpdateEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(
            async {
                let new = r
                    .edition
                    .ok_or_else(|| Error::invalid("edition", "is required"))?;
                let (document_id, number) =
                    edition_number(&new.name).map_err(|e| e.within("edition"))?;
                let expected = domain::parse_etag(&new.etag).map_err(|e| e.within("edition"))?;
                let current = self
                    .store
                    .get_edition(&document_id, &EditionRef::Number(number))
                    .await?;
                let read_revision = current.meta.revision;
                let merged = merge(
                    edition_pb(current),
                    new,
                    r.update_mask,
                    &["translations", "change_note"],
                    |cur, new, path| match path {
                        "translations" => cur.translations = new.translations.clone(),
                        _ => cur.change_note = new.change_note.clone(),
                    },
                )?;
                let fields = edition_fields(merged)
                    .validate()
                    .map_err(|e| e.within("edition"))?;
                let stored = self
                    .store
                    .update_edition(&document_id, number, expected, read_revision, &fields)
                    .await?;
                Ok(edition_pb(stored))
            }
            .await,
        )
    }

    async fn submit_edition(
        &self,
        request: Request<pb::SubmitEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(self.transition(Action::Submit, &r.name, &r.etag, "").await)
    }

    async fn publish_edition(
        &self,
        request: Request<pb::PublishEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(self.transition(Action::Publish, &r.name, &r.etag, "").await)
    }

    async fn reject_edition(
        &self,
        request: Request<pb::RejectEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(
            self.transition(Action::Reject, &r.name, &r.etag, &r.reason)
                .await,
        )
    }

    async fn withdraw_edition(
        &self,
        request: Request<pb::WithdrawEditionRequest>,
    ) -> Reply<pb::Edition> {
        let r = request.into_inner();
        reply(
            self.transition(Action::Withdraw, &r.name, &r.etag, &r.reason)
                .await,
        )
    }

    async fn search_documents(
        &self,
        request: Request<pb::SearchDocumentsRequest>,
    ) -> Reply<pb::SearchDocumentsResponse> {
        const METHOD: &str = "SearchDocuments";
        let r = request.into_inner();
        reply(
            async {
                let query = SearchQuery::new(&r.query, &r.filter)?;
                // Ranked results page by offset: a score is no stable key.
                let scope = format!("{}\n{}", r.query, r.filter);
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &scope)?;
                let offset: i64 = match &page.after {
                    None => 0,
                    Some(cursor) => cursor
                        .parse()
                        .map_err(|_| Error::invalid("page_token", "is not a valid page token"))?,
                };
                let size = i64::try_from(page.size).unwrap_or(50);
                let mut hits = self.store.search(&query, offset, size).await?;
                let next = if hits.len() > page.size {
                    hits.truncate(page.size);
                    Some((offset + size).to_string())
                } else {
                    None
                };
                let found = Page { items: hits, next };
                Ok(pb::SearchDocumentsResponse {
                    next_page_token: self.pages.next_token(METHOD, &scope, &found),
                    results: found.items.into_iter().map(hit_pb).collect(),
                })
            }
            .await,
        )
    }

    async fn upload_attachment(
        &self,
        request: Request<Streaming<pb::UploadAttachmentRequest>>,
    ) -> Reply<pb::Attachment> {
        reply(self.receive(request.into_inner()).await)
    }

    async fn get_attachment(
        &self,
        request: Request<pb::GetAttachmentRequest>,
    ) -> Reply<pb::Attachment> {
        let r = request.into_inner();
        reply(
            async {
                let (document_id, aid) = check::child_ids(&r.name, "attachments")
                    .map_err(|e| Error::invalid("name", e))?;
                Ok(attachment_pb(
                    self.store.get_attachment(&document_id, &aid).await?,
                ))
            }
            .await,
        )
    }

    async fn list_attachments(
        &self,
        request: Request<pb::ListAttachmentsRequest>,
    ) -> Reply<pb::ListAttachmentsResponse> {
        const METHOD: &str = "ListAttachments";
        let r = request.into_inner();
        reply(
            async {
                let document_id = id("parent", &r.parent, "documents")?;
                let page = self
                    .pages
                    .request(METHOD, r.page_size, &r.page_token, &r.parent)?;
                let found = self.store.list_attachments(&document_id, &page).await?;
                Ok(pb::ListAttachmentsResponse {
                    next_page_token: self.pages.next_token(METHOD, &r.parent, &found),
                    attachments: found.items.into_iter().map(attachment_pb).collect(),
                })
            }
            .await,
        )
    }

    type ExportDocumentsStream = ServerStream<pb::ExportDocumentsResponse>;

    async fn export_documents(
        &self,
        _: Request<pb::ExportDocumentsRequest>,
    ) -> Reply<Self::ExportDocumentsStream> {
        api::export(export::documents(&self.store), |(document, edition)| {
            pb::ExportDocumentsResponse {
                document: Some(document_pb(document)),
                edition: Some(edition_pb(edition)),
            }
        })
    }

    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        innolab_kit::api::changes(&self.store, request)
    }

    type DownloadAttachmentStream = DownloadStream;

    async fn download_attachment(
        &self,
        request: Request<pb::DownloadAttachmentRequest>,
    ) -> Reply<Self::DownloadAttachmentStream> {
        let r = request.into_inner();
        let found = async {
            let (document_id, aid) =
                check::child_ids(&r.name, "attachments").map_err(|e| Error::invalid("name", e))?;
            self.store.get_attachment(&document_id, &aid).await
        }
        .await;
        let attachment = match found {
            Ok(a) => a,
            Err(e) => return Err(Status::from(e)),
        };
        // A small channel: at most a few chunks are in memory at once.
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let store = self.store.clone();
        tokio::spawn(async move {
            let id = attachment.id.clone();
            let first = pb::DownloadAttachmentResponse {
                part: Some(pb::download_attachment_response::Part::Attachment(
                    attachment_pb(attachment),
                )),
            };
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            let mut seq = 0;
            loop {
                let message = match store.attachment_chunk(&id, seq).await {
                    Ok(None) => return,
                    Ok(Some(data)) => Ok(pb::DownloadAttachmentResponse {
                        part: Some(pb::download_attachment_response::Part::Chunk(data)),
                    }),
                    Err(e) => Err(Status::from(e)),
                };
                let failed = message.is_err();
                if tx.send(message).await.is_err() || failed {
                    return;
                }
                seq += 1;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
