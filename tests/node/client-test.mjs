// Florin's API as a React/PWA front end uses it: Apollo Client (HTTP link + graphql-ws link, a normalized
// cache with Relay-style pagination) and graphql-ws over the graphql-transport-ws protocol.
//
//   node tests/node/client-test.mjs <http url> <ws url> <spec json>
//
// spec: {email, password, account: {name, currency, openingBalance}, transactions: [{amount, bookedOn,
// description}], pageSize, live: {amount, bookedOn, description}}
//
// Prints JSON lines on stdout: {"waiting": "subscribed", "userId": …} once the subscription is sent (the
// test then checks that the server listens and answers "go" on stdin), and a last line with everything
// the clients saw. Exits 1 with {"failure": …} when anything throws.

import { createInterface } from "node:readline";
import { randomUUID } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [httpUrl, wsUrl, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson);
const STEP_TIMEOUT_MS = 15000;

let token = null; // what a front end keeps after signing in

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function within(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function say(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

// A Relay global id as Florin encodes it: base64("<Type>:<uuid>"); an offline PWA mints its own for creates.
const globalId = (type, uuid) => Buffer.from(`${type}:${uuid}`).toString("base64");

const wsClient = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  lazy: true,
  retryAttempts: 0,
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
});

const httpLink = ApolloLink.from([
  new SetContextLink((prev) => ({
    headers: { ...prev.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })),
  new HttpLink({ uri: httpUrl }),
]);

const link = ApolloLink.split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  },
  new GraphQLWsLink(wsClient),
  httpLink,
);

const client = new ApolloClient({
  link,
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { transactions: relayStylePagination(["filter", "orderBy"]) } } },
  }),
});

const REGISTER = gql`
  mutation Register($input: AuthRegisterInput!) {
    authRegister(input: $input) { accessToken user { id email } errors { field code } }
  }`;
const ME = gql`query Me { me { id email } }`;
const ACCOUNT_CREATE = gql`
  mutation AccountCreate($input: AccountCreateInput!) {
    accountCreate(input: $input) {
      account { id name currency balance { amount currency } }
      errors { field code }
    }
  }`;
const TRANSACTION_CREATE = gql`
  mutation TransactionCreate($input: TransactionCreateInput!) {
    transactionCreate(input: $input) {
      transaction { id amount { amount currency } bookedOn description }
      errors { field code }
    }
  }`;
const TRANSACTIONS = gql`
  query Transactions($filter: TransactionFilter, $first: Int, $after: String) {
    transactions(filter: $filter, orderBy: BOOKED_ON_ASC, first: $first, after: $after) {
      totalCount
      edges { cursor node { id amount { amount currency } bookedOn description } }
      pageInfo { hasNextPage endCursor }
    }
  }`;
const TRANSACTION_EVENTS = gql`
  subscription TransactionEvents {
    transactionEvents { kind transactionId accountIds count transaction { id amount { amount currency } description } }
  }`;

function codesOf(error) {
  return (error?.errors ?? []).map((e) => e.extensions?.code ?? null);
}

async function main() {
  const out = {};

  // 1. Not signed in: `me` is a top-level UNAUTHENTICATED error, with no data.
  const anonymous = await client.query({ query: ME, errorPolicy: "all", fetchPolicy: "network-only" });
  out.anonymous = { data: anonymous.data ?? null, codes: codesOf(anonymous.error) };

  // 2. Sign up (a mutation), keep the token, read `me`.
  const registered = await client.mutate({
    mutation: REGISTER,
    variables: { input: { email: spec.email, password: spec.password } },
  });
  out.registerErrors = registered.data.authRegister.errors;
  token = registered.data.authRegister.accessToken;
  await client.clearStore();
  const me = await client.query({ query: ME, fetchPolicy: "network-only" });
  out.me = { id: me.data.me.id, email: me.data.me.email };

  // 3. Create an account with a client-chosen id, then retry the very same create (a flaky network):
  //    the retry replays the first result and creates nothing.
  const accountInput = { ...spec.account, kind: "CHECKING", id: globalId("Account", randomUUID()) };
  const account = await client.mutate({ mutation: ACCOUNT_CREATE, variables: { input: accountInput } });
  const retried = await client.mutate({ mutation: ACCOUNT_CREATE, variables: { input: accountInput } });
  out.account = account.data.accountCreate;
  out.accountRetry = retried.data.accountCreate;
  out.clientAccountId = accountInput.id;
  const accountId = account.data.accountCreate.account.id;

  // 4. A refused mutation: a typed error in the payload, not a top-level error.
  const refused = await client.mutate({
    mutation: TRANSACTION_CREATE,
    variables: { input: { accountId, amount: "1.234", bookedOn: "2026-01-01", description: "too precise" } },
  });
  out.refused = refused.data.transactionCreate;

  // 5. Create the transactions.
  out.created = [];
  for (const t of spec.transactions) {
    const made = await client.mutate({ mutation: TRANSACTION_CREATE, variables: { input: { accountId, ...t } } });
    if (made.data.transactionCreate.errors.length) throw new Error(JSON.stringify(made.data.transactionCreate));
    out.created.push(made.data.transactionCreate.transaction.id);
  }

  // 6. Paginate like an infinite list: watch the first page, fetchMore after endCursor until the end; the
  //    cache's relayStylePagination policy merges the pages, and the watcher (what re-renders a React list)
  //    is handed the merged list.
  const filter = { accountIds: [accountId] };
  const watched = client.watchQuery({ query: TRANSACTIONS, variables: { filter, first: spec.pageSize } });
  let shown = null;
  let rendered = null;
  const watching = watched.subscribe((result) => {
    if (result.data?.transactions) {
      shown = result.data.transactions;
      rendered?.();
    }
  });
  const showing = (count) => new Promise((resolve) => {
    rendered = () => shown?.edges.length === count && resolve();
    rendered();
  });
  try {
    await within(showing(Math.min(spec.pageSize, spec.transactions.length)), "the first page");
    let page = shown;
    out.pages = [];
    for (;;) {
      out.pages.push({ size: page.edges.length, hasNextPage: page.pageInfo.hasNextPage, totalCount: page.totalCount });
      if (!page.pageInfo.hasNextPage) break;
      if (out.pages.length > 50) throw new Error("pagination does not end");
      const more = await within(
        watched.fetchMore({ variables: { after: page.pageInfo.endCursor } }), "fetchMore");
      page = more.data.transactions;
    }
    const loaded = out.pages.reduce((sum, p) => sum + p.size, 0);
    await within(showing(loaded), `the watcher showing all ${loaded} loaded transactions`);
    out.merged = shown.edges.map(({ node }) => ({
      id: node.id, amount: node.amount.amount, currency: node.amount.currency, bookedOn: node.bookedOn,
      description: node.description,
    }));
    out.mergedHasNextPage = shown.pageInfo.hasNextPage;
  } finally {
    watching.unsubscribe();
  }

  // 7. Live updates: subscribe to transactionEvents over graphql-ws (connection_init carries the token),
  //    wait until the test saw the server subscribe, create a transaction, receive its CREATED event.
  const events = [];
  let notify = null;
  const subscription = client.subscribe({ query: TRANSACTION_EVENTS }).subscribe({
    next: (result) => {
      events.push(result.data?.transactionEvents ?? { error: codesOf(result.error) });
      notify?.();
    },
    error: (error) => { events.push({ error: String(error) }); notify?.(); },
  });
  const nextEvent = () => (events.length ? Promise.resolve() : new Promise((resolve) => { notify = resolve; }));
  say({ waiting: "subscribed", userId: out.me.id });
  const answer = await within(stdinLines.next(), "the test's go-ahead");
  if (answer.value?.trim() !== "go") throw new Error(`expected "go" on stdin, got ${JSON.stringify(answer.value)}`);
  const live = await client.mutate({
    mutation: TRANSACTION_CREATE, variables: { input: { accountId, ...spec.live } },
  });
  out.liveId = live.data.transactionCreate.transaction.id;
  await within(nextEvent(), "the transactionEvents event");
  out.events = events;
  subscription.unsubscribe();
  return out;
}

let code = 0;
try {
  say({ result: await within(main(), "the whole client test", 60000) });
} catch (error) {
  code = 1;
  say({ failure: String(error?.stack ?? error), errors: error?.errors ?? null });
} finally {
  await wsClient.dispose();
  await client.stop?.();
}
process.exit(code);
