//! `portico demo-data`: loads a realistic data set once; loading again adds nothing.

use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::harness::TestApp;

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Counts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    accounts: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    profiles: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    works: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    articles: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    collections: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    consents: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    collected: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    unindexed: i64,
}

async fn counts(app: &TestApp) -> Counts {
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM profiles) AS profiles, \
                (SELECT count(*) FROM works) AS works, (SELECT count(*) FROM articles) AS articles, \
                (SELECT count(*) FROM collections) AS collections, (SELECT count(*) FROM consent_records) AS consents, \
                (SELECT coalesce(sum(collection_count), 0)::bigint FROM works) AS collected, \
                (SELECT count(*) FROM works WHERE search = ''::tsvector) AS unindexed",
    )
    .get_result(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn demo_data_loads_once_and_is_searchable() {
    let app = TestApp::new().await;
    let first = portico::demo::load(&app.state.pool).await.unwrap();
    assert!(
        first.accounts.added >= 200 && first.works.added >= 300,
        "{first}"
    );
    assert!(
        first.articles.added >= 50 && first.collections.added >= 1000,
        "{first}"
    );
    assert_eq!(first.works.added, first.works.total);
    let after_first = counts(&app).await;
    assert_eq!(after_first.accounts as usize, first.accounts.total);
    assert_eq!(
        after_first.collected, after_first.collections,
        "collection counters match the collections"
    );
    assert_eq!(after_first.unindexed, 0, "every work has a search document");
    assert!(
        after_first.consents >= 2 * after_first.accounts,
        "the required consents are on record"
    );

    let second = portico::demo::load(&app.state.pool).await.unwrap();
    assert_eq!(
        (
            second.accounts.added,
            second.works.added,
            second.articles.added,
            second.collections.added
        ),
        (0, 0, 0, 0),
        "{second}"
    );
    assert_eq!(second.works.total, first.works.total);
    assert_eq!(counts(&app).await, after_first, "nothing duplicated");
    assert!(second.to_string().contains("(0 new)"), "{second}");

    // The data shows up in the API, in both languages.
    let (_, feed) = app
        .graphql(
            "{ works(first: 20) { edges { node { title author { username city } tags } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        feed["data"]["works"]["edges"].as_array().map(Vec::len),
        Some(20),
        "{feed}"
    );
    for q in ["harbour", "水彩", "西湖"] {
        let (_, found) = app
            .graphql(
                "query($q: String!) { search(query: $q) { edges { node { __typename } } } }",
                json!({ "q": q }),
            )
            .await;
        let n = found["data"]["search"]["edges"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(n > 0, "{q}: {found}");
    }
}
