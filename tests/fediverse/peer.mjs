// A fediverse reader for the tests: a real ActivityPub server made with
// Fedify (the framework behind Ghost's ActivityPub, from npm), not an
// imitation. It has one actor, verifies every signature Halftone sends
// (Fedify's own HTTP Signatures code), and logs what reaches its inbox.
// The test drives it over /control/…: follow, reply, like, undo, delete.
//
//   node tests/fediverse/peer.mjs PORT [NAME]
//
// Prints "ready" on stdout once listening.

import http from "node:http";

// Fedify 1.10 wants Node 22; Debian's Node 20 lacks only
// ArrayBuffer.prototype.transfer (used when exporting keys). This copies
// instead of detaching, which is all Fedify needs of it.
if (!ArrayBuffer.prototype.transfer) {
  ArrayBuffer.prototype.transfer = function (length = this.byteLength) {
    const copy = new ArrayBuffer(length);
    new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(length, this.byteLength)));
    return copy;
  };
}

const {
  Accept,
  Create,
  Delete,
  Endpoints,
  Follow,
  Like,
  Note,
  Person,
  Undo,
  Update,
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
} = await import("@fedify/fedify");

const PORT = Number(process.argv[2]);
const NAME = process.argv[3] ?? "reader";
const BASE = `http://127.0.0.1:${PORT}`;
const PUBLIC = new URL("https://www.w3.org/ns/activitystreams#Public");

const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const received = [];

const federation = createFederation({
  kv: new MemoryKvStore(),
  // Halftone runs on 127.0.0.1 in the tests.
  allowPrivateAddress: true,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== NAME) return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Reader ${identifier}`,
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === NAME ? [keys] : []
  );

async function record(ctx, activity) {
  const entry = {
    type: activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    json: await activity.toJsonLd({ contextLoader: ctx.contextLoader }),
  };
  received.push(entry);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Undo, record);

const context = () => federation.createContext(new URL(BASE), undefined);
const me = () => context().getActorUri(NAME);
const fresh = (kind) => new URL(`${BASE}/${kind}/${crypto.randomUUID()}`);

async function target(ctx, actor) {
  const found = await ctx.lookupObject(actor);
  if (found == null) throw new Error(`cannot look up ${actor}`);
  return found;
}

async function control(url, body) {
  const ctx = context();
  const input = body.length ? JSON.parse(body.toString()) : {};
  switch (url.pathname) {
    case "/control/log":
      return { received };
    case "/control/follow": {
      const them = await target(ctx, input.actor);
      const follow = new Follow({ id: fresh("follows"), actor: me(), object: them.id });
      await ctx.sendActivity({ identifier: NAME }, them, follow);
      return { id: follow.id.href };
    }
    case "/control/unfollow": {
      const them = await target(ctx, input.actor);
      const follow = new Follow({ id: new URL(input.follow), actor: me(), object: them.id });
      await ctx.sendActivity({ identifier: NAME }, them, new Undo({ id: fresh("undos"), actor: me(), object: follow }));
      return { ok: true };
    }
    case "/control/reply": {
      const them = await target(ctx, input.actor);
      const note = new Note({
        id: fresh("notes"),
        // Fedify's names for attributedTo and inReplyTo.
        attribution: me(),
        replyTarget: new URL(input.note),
        content: `<p><span class="h-card"><a href="${them.id.href}">@comic</a></span> ${input.text}</p>`,
        to: PUBLIC,
      });
      const create = new Create({ id: fresh("creates"), actor: me(), object: note, to: PUBLIC });
      await ctx.sendActivity({ identifier: NAME }, them, create);
      return { id: note.id.href };
    }
    case "/control/like": {
      const them = await target(ctx, input.actor);
      const like = new Like({ id: fresh("likes"), actor: me(), object: new URL(input.note) });
      await ctx.sendActivity({ identifier: NAME }, them, like);
      return { id: like.id.href };
    }
    case "/control/delete": {
      const them = await target(ctx, input.actor);
      await ctx.sendActivity({ identifier: NAME }, them, new Delete({ id: fresh("deletes"), actor: me(), object: new URL(input.id) }));
      return { ok: true };
    }
    default:
      return null;
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, BASE);
    let response;
    if (url.pathname.startsWith("/control/")) {
      const answer = await control(url, body);
      response = answer == null
        ? new Response("no such control", { status: 404 })
        : Response.json(answer);
    } else {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const request = new Request(url, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      response = await federation.fetch(request, {
        contextData: undefined,
        onNotFound: () => new Response("not found", { status: 404 }),
        onNotAcceptable: () => new Response("not acceptable", { status: 406 }),
      });
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(error);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error?.stack ?? error));
  }
});

server.listen(PORT, "127.0.0.1", () => console.log("ready"));
