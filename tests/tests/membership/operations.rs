//! Operations: readiness, an unreachable database, reflection and a graceful stop.

use super::*;

on_both_backends!(
    readiness_waits_for_migrations,
    reflection_lists_services,
    stop_is_graceful_after_calls,
);

async fn readiness_waits_for_migrations(backend: Backend) {
    let server = TestServer::start(&backend, "membership", innolab_tests::membership, |s| {
        s.migrate_on_start = false;
    })
    .await;
    server
        .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
        .await;
    assert_eq!(server.health("").await, ServingStatus::NotServing);
    assert_eq!(server.health(SERVICE).await, ServingStatus::NotServing);
    let mut c = MembershipServiceClient::new(server.channel().await);
    let status = list_orgs_page(&mut c, "", 0, "")
        .await
        .refused("a call before migrations");
    assert_code(&status, Code::Unavailable);

    let settings = Settings::new(server.db.settings.clone());
    innolab_kit::cli::migrate_with(&settings, &innolab_membership::SPEC.migrations)
        .await
        .expect("migrate command");
    server.wait_for("", ServingStatus::Serving).await;
    server.wait_for(SERVICE, ServingStatus::Serving).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    assert_eq!(org_names(&mut c, "").await, vec![o.name]);
    server.stop().await;
}

/// A server whose database is unreachable stays NOT_SERVING and refuses
/// calls with UNAVAILABLE at once (no wait for a database timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_not_serving_and_unavailable() {
    let server = TestServer::start(
        &Backend::Sqlite,
        "membership",
        innolab_tests::membership,
        |s| {
            s.database =
                DatabaseSettings::new("postgres://postgres@127.0.0.1:1/none", "membership", 2)
                    .expect("database settings");
        },
    )
    .await;
    server
        .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
        .await;
    let mut c = MembershipServiceClient::new(server.channel().await);
    for _ in 0..3 {
        assert_eq!(server.health("").await, ServingStatus::NotServing);
        assert_eq!(server.health(SERVICE).await, ServingStatus::NotServing);
        let started = Instant::now();
        let status = create_org_status(&mut c).await;
        assert_code(&status, Code::Unavailable);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "UNAVAILABLE comes at once, not after a database timeout ({:?})",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    server.stop().await;
}

async fn create_org_status(c: &mut Client) -> Status {
    try_create_org(c, org("RO", "ADR"), "")
        .await
        .refused("CreateOrganization without a database")
}

async fn reflection_lists_services(backend: Backend) {
    use tonic_reflection::pb::v1::ServerReflectionRequest as ReqV1;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as RequestV1;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as ResponseV1;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest as ReqV1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as V1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as RequestV1alpha;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as ResponseV1alpha;

    let (server, _) = start(&backend).await;
    let channel = server.channel().await;

    let request = ReqV1 {
        host: String::new(),
        message_request: Some(RequestV1::ListServices(String::new())),
    };
    let mut stream = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1")
        .message()
        .await
        .expect("v1 stream")
        .expect("v1 answer");
    let Some(ResponseV1::ListServicesResponse(list)) = stream.message_response.take() else {
        panic!("v1 answered {:?}", stream.message_response);
    };
    let services: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [SERVICE, "grpc.health.v1.Health"] {
        assert!(
            services.contains(expected),
            "v1 lists {expected}: {services:?}"
        );
    }

    let request = ReqV1alpha {
        host: String::new(),
        message_request: Some(RequestV1alpha::ListServices(String::new())),
    };
    let mut answer = V1alpha::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1alpha")
        .message()
        .await
        .expect("v1alpha stream")
        .expect("v1alpha answer");
    let Some(ResponseV1alpha::ListServicesResponse(list)) = answer.message_response.take() else {
        panic!("v1alpha answered {:?}", answer.message_response);
    };
    let services: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        services.contains(SERVICE),
        "v1alpha lists {SERVICE}: {services:?}"
    );

    // The descriptor of the service is served too.
    let request = ReqV1 {
        host: String::new(),
        message_request: Some(RequestV1::FileContainingSymbol(SERVICE.into())),
    };
    let answer = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await
        .accepted("reflection v1 file containing symbol")
        .message()
        .await
        .expect("v1 stream")
        .expect("v1 answer");
    assert!(
        matches!(
            answer.message_response,
            Some(ResponseV1::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
        ),
        "descriptor of {SERVICE}: {:?}",
        answer.message_response.map(|_| "another answer")
    );

    // An unknown symbol is answered with an error_response on a stream that
    // stays open: the next request on it is answered (as grpcurl expects).
    let (ask, asked) = tokio::sync::mpsc::channel(4);
    let mut answers = V1::new(channel.clone())
        .server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(asked))
        .await
        .accepted("reflection v1 session");
    for symbol in ["innolab.membership.v1.NoSuchThing", SERVICE] {
        ask.send(ReqV1 {
            host: String::new(),
            message_request: Some(RequestV1::FileContainingSymbol(symbol.into())),
        })
        .await
        .unwrap();
        let answer = answers
            .message()
            .await
            .expect("stream open")
            .expect("answer");
        match (symbol, answer.message_response) {
            (SERVICE, Some(ResponseV1::FileDescriptorResponse(f))) => {
                assert!(!f.file_descriptor_proto.is_empty());
            }
            (_, Some(ResponseV1::ErrorResponse(e))) if symbol != SERVICE => {
                assert_eq!(e.error_code, tonic::Code::NotFound as i32);
                assert!(e.error_message.contains(symbol), "{}", e.error_message);
            }
            (_, other) => panic!("{symbol}: {other:?}"),
        }
    }
    drop(ask);
    assert!(answers.message().await.expect("clean end").is_none());
    let (ask, asked) = tokio::sync::mpsc::channel(4);
    let mut answers = V1alpha::new(channel)
        .server_reflection_info(tokio_stream::wrappers::ReceiverStream::new(asked))
        .await
        .accepted("reflection v1alpha session");
    for file in ["no/such.proto", "innolab/membership/v1/membership.proto"] {
        ask.send(ReqV1alpha {
            host: String::new(),
            message_request: Some(RequestV1alpha::FileByFilename(file.into())),
        })
        .await
        .unwrap();
        let answer = answers
            .message()
            .await
            .expect("stream open")
            .expect("answer");
        let ok = matches!(
            answer.message_response,
            Some(ResponseV1alpha::FileDescriptorResponse(_))
        );
        let refused = matches!(answer.message_response, Some(ResponseV1alpha::ErrorResponse(ref e)) if e.error_code == tonic::Code::NotFound as i32);
        assert!(
            if file.starts_with("no/") { refused } else { ok },
            "{file}: {:?}",
            answer.message_response
        );
    }
    server.stop().await;
}

async fn stop_is_graceful_after_calls(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let m = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    decide(&mut c, &m, Move::Approve(None)).await;
    let addr = server.addr;
    // The client keeps its connection open: an idle connection must not hold
    // the shutdown up.
    let started = Instant::now();
    server.stop().await; // asserts a clean exit within 30 s
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after stop"
    );
    drop(c);
}
