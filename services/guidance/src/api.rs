//! The gRPC API: protobuf <-> domain, and nothing else. The only module of the
//! service that knows generated types.

use std::pin::Pin;

use innolab_kit::api::{
    ChangeStream, Pages, Reply, date_in, date_out, merge, reply, stream_changes, timestamp,
};
use innolab_kit::page::PageTokens;
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::guidance::v1 as pb;
use pb::guidance_service_server::GuidanceService;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::Options;
use crate::domain::{
    self, Action, AttachmentFields, DocumentFields, DocumentQuery, DocumentType, EditionFields,
    EditionQuery, EditionRef, EditionState, LifecycleStage, Receiving, SearchQuery, Transition,
    Translation, check,
};
use crate::store::{ChangeLog as _, Page, SearchHit, Store, UploadStart};

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
        let a = meta
            .attachment
            .ok_or_else(|| Error::invalid("metadata.attachment", "is required"))?;
        let fields = AttachmentFields {
            filename: a.filename,
            content_type: a.content_type,
            sha256: a.sha256,
        }
        .validate()
        .map_err(|e| e.within("metadata.attachment"))?;
        let mut upload = match self
            .store
            .start_upload(&document_id, &fields, request_id.as_deref())
            .await?
        {
            UploadStart::Done(existing) => return Ok(attachment_pb(existing)),
            UploadStart::Started(upload) => upload,
        };
        let mut receiving = Receiving::new(self.options.max_attachment_bytes);
        let received = async {
            loop {
                match next_part(&mut stream).await? {
                    None => break,
                    Some(pb::upload_attachment_request::Part::Chunk(chunk)) => {
                        receiving.add(&chunk)?;
                        upload.write(&chunk).await?;
                    }
                    Some(pb::upload_attachment_request::Part::Metadata(_)) => {
                        return Err(Error::invalid(
                            "metadata",
                            "only the first message carries metadata",
                        ));
                    }
                }
            }
            receiving.finish(&fields.sha256)
        }
        .await;
        match received {
            Ok(size) => Ok(attachment_pb(upload.commit(size).await?)),
            Err(e) => {
                upload.abort().await;
                Err(e)
            }
        }
    }
}

/// The next part of an upload; `None` at the end of the stream. A broken
/// stream is reported as the client's cancellation.
async fn next_part(
    stream: &mut Streaming<pb::UploadAttachmentRequest>,
) -> Result<Option<pb::upload_attachment_request::Part>, Error> {
    match stream.message().await {
        Ok(None) => Ok(None),
        Ok(Some(pb::UploadAttachmentRequest { part: Some(part) })) => Ok(Some(part)),
        Ok(Some(pb::UploadAttachmentRequest { part: None })) => Err(Error::invalid(
            "part",
            "every message carries metadata or a chunk",
        )),
        Err(status) => Err(Error::invalid(
            "chunk",
            format!("the upload stream broke off: {}", status.message()),
        )),
    }
}

/// The id in `name`, or INVALID_ARGUMENT naming `field`.
fn id(field: &str, name: &str, collection: &str) -> Result<String, Error> {
    check::resource_id(name, collection).map_err(|e| Error::invalid(field, e))
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

    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Reply<Self::StreamChangesStream> {
        let r = request.into_inner();
        stream_changes(r.after_sequence, |after| {
            self.store.changes(after, r.follow)
        })
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

// ---- enums: the protobuf value `<PREFIX>_<NAME>` carries the domain name ----

innolab_kit::enum_mapping!(
    type_in,
    type_out,
    pb::DocumentType,
    "DOCUMENT_TYPE_",
    DocumentType
);
innolab_kit::enum_mapping!(
    stage_in,
    stage_out,
    pb::LifecycleStage,
    "LIFECYCLE_STAGE_",
    LifecycleStage
);
innolab_kit::enum_mapping!(
    state_in,
    state_out,
    pb::EditionState,
    "EDITION_STATE_",
    EditionState
);

// ---- resources ----

/// The validated fields of a document: every wrong field, whether its
/// protobuf value or its content is wrong, is reported at once.
fn valid_document(d: pb::Document) -> Result<DocumentFields, Error> {
    let mut v = Violations::new();
    let doc_type = v.merge(type_in("type", d.r#type)).flatten();
    let mut stages = Vec::new();
    for (i, n) in d.lifecycle_stages.iter().enumerate() {
        let field = format!("lifecycle_stages[{i}]");
        match v.merge(stage_in(&field, *n)) {
            Some(Some(s)) => stages.push(s),
            Some(None) => v.add(field, "must not be UNSPECIFIED"),
            None => {}
        }
    }
    let issue_date = v.merge(date_in("issue_date", d.issue_date)).flatten();
    let modify_date = v.merge(date_in("modify_date", d.modify_date)).flatten();
    let known_type = d.r#type == 0 || doc_type.is_some();
    let fields = DocumentFields {
        doc_type,
        title: d.title,
        description: d.description,
        topics: d.topics,
        creators: d.creators,
        publisher: d.publisher,
        license: d.license,
        related_initiatives: d.related_initiatives,
        lifecycle_stages: stages,
        issue_date,
        modify_date,
    };
    let fields = match fields.validate() {
        Ok(f) => Some(f),
        Err(Error::InvalidArgument(list)) => {
            for f in list {
                // An unknown type number was reported above already.
                if known_type || f.field != "type" {
                    v.add(f.field, f.description);
                }
            }
            None
        }
        Err(other) => return Err(other),
    };
    v.finish()?;
    fields.ok_or_else(|| Error::Internal("document validation".into()))
}

fn document_pb(d: domain::Document) -> pb::Document {
    let name = d.name();
    pb::Document {
        current_edition: d
            .current_edition
            .map(|n| format!("{name}/editions/{n}"))
            .unwrap_or_default(),
        name,
        r#type: type_out(d.fields.doc_type),
        title: d.fields.title,
        description: d.fields.description,
        topics: d.fields.topics,
        creators: d.fields.creators,
        publisher: d.fields.publisher,
        license: d.fields.license,
        related_initiatives: d.fields.related_initiatives,
        lifecycle_stages: d
            .fields
            .lifecycle_stages
            .into_iter()
            .map(|s| stage_out(Some(s)))
            .collect(),
        issue_date: date_out(d.fields.issue_date),
        modify_date: date_out(d.fields.modify_date),
        create_time: timestamp(d.meta.create_time),
        update_time: timestamp(d.meta.update_time),
        etag: d.meta.etag(),
    }
}

fn edition_fields(e: pb::Edition) -> EditionFields {
    EditionFields {
        translations: e
            .translations
            .into_iter()
            .map(|t| Translation {
                language_code: t.language_code,
                title: t.title,
                summary: t.summary,
                body: t.body,
                original: t.original,
            })
            .collect(),
        change_note: e.change_note,
    }
}

fn edition_pb(e: domain::Edition) -> pb::Edition {
    pb::Edition {
        name: e.name(),
        state: state_out(Some(e.state)),
        translations: e
            .fields
            .translations
            .into_iter()
            .map(|t| pb::Translation {
                language_code: t.language_code,
                title: t.title,
                summary: t.summary,
                body: t.body,
                original: t.original,
            })
            .collect(),
        change_note: e.fields.change_note,
        state_reason: e.state_reason,
        language_fallback: e.language_fallback,
        publish_time: e.publish_time.and_then(timestamp),
        create_time: timestamp(e.meta.create_time),
        update_time: timestamp(e.meta.update_time),
        etag: e.meta.etag(),
    }
}

fn hit_pb(h: SearchHit) -> pb::SearchResult {
    pb::SearchResult {
        document: format!("documents/{}", h.document_id),
        edition: format!("documents/{}/editions/{}", h.document_id, h.edition),
        language_code: h.language_code,
        title: h.title,
        snippet: h.snippet,
        score: h.score,
        r#type: type_out(Some(h.doc_type)),
    }
}

fn attachment_pb(a: domain::Attachment) -> pb::Attachment {
    pb::Attachment {
        name: a.name(),
        filename: a.fields.filename,
        content_type: a.fields.content_type,
        size_bytes: a.size_bytes,
        sha256: a.fields.sha256,
        create_time: timestamp(a.create_time),
    }
}
