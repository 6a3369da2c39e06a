//! The stack's floor on PostgreSQL: the least a `GetOrganization` over
//! tonic and sqlx can cost on this machine. A tonic server with only that
//! method, no layers (no metrics, spans, deadlines, readiness, limits), and
//! ten typed `PgConnection`s taken in turn (no pool, no ping, no `Any`
//! driver) running the membership service's own statement and building the
//! same message. What the suite's direct read adds is measured against it,
//! and it shows what share of `pgbench` a tonic + sqlx read can reach here.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use innolab_proto::innolab::membership::v1 as mb;
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

/// The membership service's statement (`store/organizations.rs`).
const GET_ORGANIZATION: &str = "SELECT o.id, o.display_names, o.kind, o.government_level, \
    o.country_code, o.subdivision_code, o.nuts_code, o.sector, o.homepage_uri, o.parent_id, \
    o.revision, o.create_time, o.update_time, i.scheme, i.value \
    FROM organizations o LEFT JOIN organization_identifiers i ON i.organization_id = o.id \
    WHERE o.id = $1 ORDER BY i.position";

/// Connections as many as the suite's pool holds by default.
const CONNECTIONS: usize = 10;

struct Shared {
    connections: Vec<Mutex<PgConnection>>,
    next: AtomicUsize,
    answered_ok: AtomicU64,
}

/// A running floor server: its address and how many calls it answered OK.
pub struct Floor {
    pub addr: String,
    shared: Arc<Shared>,
}

impl Floor {
    pub fn answered_ok(&self) -> u64 {
        self.shared.answered_ok.load(Ordering::Relaxed)
    }
}

/// Starts the floor server over `url`'s database, reading `schema`.
pub async fn floor_server(url: &str, schema: &str) -> Floor {
    let mut connections = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut conn = PgConnection::connect(url).await.unwrap();
        conn.execute(format!("SET search_path = {schema}").as_str())
            .await
            .unwrap();
        connections.push(Mutex::new(conn));
    }
    let shared = Arc::new(Shared {
        connections,
        next: AtomicUsize::new(0),
        answered_ok: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(Route(Get(shared.clone())))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    Floor { addr, shared }
}

#[derive(Clone)]
struct Get(Arc<Shared>);

type Answer<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tonic::server::UnaryService<mb::GetOrganizationRequest> for Get {
    type Response = mb::Organization;
    type Future = Answer<Result<Response<mb::Organization>, Status>>;

    fn call(&mut self, request: Request<mb::GetOrganizationRequest>) -> Self::Future {
        let shared = self.0.clone();
        Box::pin(async move {
            let name = request.into_inner().name;
            let id = name
                .strip_prefix("organizations/")
                .ok_or_else(|| Status::invalid_argument("name"))?;
            let i = shared.next.fetch_add(1, Ordering::Relaxed) % shared.connections.len();
            let rows = {
                let mut conn = shared.connections[i].lock().await;
                sqlx::query(GET_ORGANIZATION)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?
            };
            let organization = organization(&rows)?;
            shared.answered_ok.fetch_add(1, Ordering::Relaxed);
            Ok(Response::new(organization))
        })
    }
}

/// The message the service builds from the rows (enums by name, names and
/// timestamps as it writes them).
fn organization(rows: &[sqlx::postgres::PgRow]) -> Result<mb::Organization, Status> {
    #[derive(serde::Deserialize)]
    struct Name {
        language_code: String,
        text: String,
    }
    let bad = |e: sqlx::Error| Status::internal(e.to_string());
    let first = rows
        .first()
        .ok_or_else(|| Status::not_found("organization"))?;
    let names: Vec<Name> = serde_json::from_str(&first.try_get::<String, _>(1).map_err(bad)?)
        .map_err(|e| Status::internal(e.to_string()))?;
    let text = |i: usize| -> Result<String, Status> {
        Ok(first
            .try_get::<Option<String>, _>(i)
            .map_err(bad)?
            .unwrap_or_default())
    };
    let timestamp = |i: usize| -> Result<prost_types::Timestamp, Status> {
        let micros: i64 = first.try_get(i).map_err(bad)?;
        Ok(prost_types::Timestamp {
            seconds: micros.div_euclid(1_000_000),
            nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
        })
    };
    let mut identifiers = Vec::new();
    for row in rows {
        if let Some(scheme) = row.try_get::<Option<String>, _>(13).map_err(bad)? {
            identifiers.push(mb::Identifier {
                scheme,
                value: row.try_get(14).map_err(bad)?,
            });
        }
    }
    let parent = text(9)?;
    Ok(mb::Organization {
        name: format!(
            "organizations/{}",
            first.try_get::<String, _>(0).map_err(bad)?
        ),
        display_names: names
            .into_iter()
            .map(|n| mb::LocalizedText {
                language_code: n.language_code,
                text: n.text,
            })
            .collect(),
        identifiers,
        kind: mb::OrganizationKind::from_str_name(&format!(
            "ORGANIZATION_KIND_{}",
            text(2)?.to_uppercase()
        ))
        .map_or(0, |k| k as i32),
        country_code: text(4)?,
        subdivision_code: text(5)?,
        nuts_code: text(6)?,
        homepage_uri: text(8)?,
        parent: if parent.is_empty() {
            parent
        } else {
            format!("organizations/{parent}")
        },
        create_time: Some(timestamp(11)?),
        update_time: Some(timestamp(12)?),
        etag: format!("r{}", first.try_get::<i64, _>(10).map_err(bad)?),
        ..Default::default()
    })
}

/// The one route: `GetOrganization` of the membership service.
#[derive(Clone)]
struct Route(Get);

impl tonic::server::NamedService for Route {
    const NAME: &'static str = "innolab.membership.v1.MembershipService";
}

impl tower::Service<http::Request<tonic::body::Body>> for Route {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Answer<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let get = self.0.clone();
        Box::pin(async move {
            if request.uri().path() != "/innolab.membership.v1.MembershipService/GetOrganization" {
                return Ok(Status::unimplemented("only GetOrganization").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(get, request).await)
        })
    }
}
