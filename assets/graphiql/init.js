// Starts GraphiQL for Portico. Loaded from the gateway itself (no inline script, see the page's
// Content-Security-Policy). The endpoints are derived from the page's own address, so the same page works
// on any host, port, scheme and path prefix a proxy serves it under.
(function () {
  'use strict';

  // `/graphiql` -> `/graphql` beside it; `/prefix/graphiql` -> `/prefix/graphql`.
  var url = new URL('graphql', window.location.href);
  url.search = '';
  url.hash = '';
  var subscriptionUrl = new URL(url.href + '/ws');
  subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

  // Queries and mutations go over HTTP; subscriptions over graphql-transport-ws, whose
  // `connection_init` payload carries the headers tab (e.g. {"authorization": "Bearer <token>"}).
  var fetcher = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: subscriptionUrl.href,
  });

  var defaultQuery =
    '# Welcome to Portico.\n' +
    '#\n' +
    '# Queries and mutations run over HTTP at /graphql, subscriptions over WebSocket at /graphql/ws.\n' +
    '# To act as a signed-in account, put {"authorization": "Bearer <access token>"} in the headers tab.\n' +
    '\n' +
    'query PrivacyPolicy {\n' +
    '  privacyPolicy {\n' +
    '    version\n' +
    '    publishedAt\n' +
    '  }\n' +
    '}\n';

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
      storage: GraphiQL.createLocalStorage({ namespace: 'portico' }),
    })
  );
})();
