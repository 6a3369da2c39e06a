//! List pages (AIP-158): every record once, the end, bad sizes and tokens,
//! stability while records are added.

use super::*;

on_both_backends!(
    pagination_walks_every_page_once,
    pagination_with_filter_ends_without_empty_page,
    pagination_refuses_bad_size_and_tokens,
    pagination_is_stable_while_records_are_added,
);

async fn pagination_walks_every_page_once(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            create_org(&mut c, org("RO", &format!("Organizația {i}")))
                .await
                .name,
        );
    }

    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list_orgs_page(&mut c, "", 3, &token)
            .await
            .accepted("ListOrganizations page");
        let names: Vec<String> = page.organizations.into_iter().map(|o| o.name).collect();
        pages.push(names);
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(pages.len() < 10, "pagination does not end");
        token = page.next_page_token;
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![3, 3, 1], "7 items in pages of 3");

    let walked: Vec<String> = pages.concat();
    assert_eq!(set(&walked).len(), 7, "no duplicates: {walked:?}");
    assert_eq!(set(&walked), set(&created), "every organisation once");
    let mut by_id = walked.clone();
    by_id.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    assert_eq!(walked, by_id, "stable id order");

    let one = list_orgs_page(&mut c, "", 10, "")
        .await
        .accepted("one page of 10");
    assert!(one.next_page_token.is_empty());
    let one: Vec<String> = one.organizations.into_iter().map(|o| o.name).collect();
    assert_eq!(one, walked, "pages of 3 = one page of 10");

    let default = list_orgs_page(&mut c, "", 0, "")
        .await
        .accepted("page_size 0");
    assert!(default.next_page_token.is_empty(), "the default is above 7");
    assert_eq!(default.organizations.len(), 7);

    let huge = list_orgs_page(&mut c, "", 1_000_000, "")
        .await
        .accepted("page_size above the cap");
    assert_eq!(huge.organizations.len(), 7);
    server.stop().await;
}

async fn pagination_with_filter_ends_without_empty_page(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for i in 0..4 {
        create_org(&mut c, org("RO", &format!("RO {i}"))).await;
        create_org(&mut c, org("FI", &format!("FI {i}"))).await;
    }
    let filter = r#"country_code = "FI""#;
    let first = list_orgs_page(&mut c, filter, 2, "")
        .await
        .accepted("first page");
    assert_eq!(first.organizations.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = list_orgs_page(&mut c, filter, 2, &first.next_page_token)
        .await
        .accepted("second page, same filter");
    assert_eq!(second.organizations.len(), 2);
    assert!(
        second.next_page_token.is_empty(),
        "a full last page has no token pointing at an empty page"
    );
    assert!(
        first
            .organizations
            .iter()
            .chain(&second.organizations)
            .all(|o| o.country_code == "FI")
    );
    server.stop().await;
}

async fn pagination_refuses_bad_size_and_tokens(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for i in 0..3 {
        create_org(&mut c, org("RO", &format!("Org {i}"))).await;
    }
    let status = list_orgs_page(&mut c, "", -1, "")
        .await
        .refused("negative page_size");
    assert_invalid(&status, "page_size");

    let page = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, "")
        .await
        .accepted("first page");
    let token = page.next_page_token;
    assert!(!token.is_empty());

    let status = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, "not-a-token")
        .await
        .refused("forged token");
    assert_invalid(&status, "page_token");

    let mut tampered: Vec<char> = token.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let status = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, &tampered)
        .await
        .refused("tampered token");
    assert_invalid(&status, "page_token");

    let status = list_orgs_page(&mut c, r#"country_code = "RO""#, 1, &token)
        .await
        .refused("token reused with another filter");
    assert_invalid(&status, "page_token");

    let status = c
        .list_groups(pb::ListGroupsRequest {
            page_size: 1,
            page_token: token.clone(),
            filter: "kind = GOVERNMENT".into(),
        })
        .await
        .refused("token of another method");
    assert_code(&status, Code::InvalidArgument);

    let next = list_orgs_page(&mut c, "kind = GOVERNMENT", 1, &token)
        .await
        .accepted("the genuine token still works");
    assert_eq!(next.organizations.len(), 1);
    server.stop().await;
}

/// Keyset pagination: records added while a caller pages through come after
/// what it has seen, never as duplicates.
async fn pagination_is_stable_while_records_are_added(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut created = Vec::new();
    for i in 0..4 {
        created.push(
            create_org(&mut c, org("RO", &format!("Before {i}")))
                .await
                .name,
        );
    }
    let first = list_orgs_page(&mut c, "", 3, "")
        .await
        .accepted("first page");
    for i in 0..2 {
        created.push(
            create_org(&mut c, org("RO", &format!("During {i}")))
                .await
                .name,
        );
    }
    let mut walked: Vec<String> = first.organizations.into_iter().map(|o| o.name).collect();
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = list_orgs_page(&mut c, "", 3, &token)
            .await
            .accepted("next page");
        walked.extend(page.organizations.into_iter().map(|o| o.name));
        token = page.next_page_token;
    }
    assert_eq!(walked, created, "every record once, in creation (id) order");
    server.stop().await;
}
