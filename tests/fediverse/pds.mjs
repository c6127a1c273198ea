// Bluesky for the tests: the reference Personal Data Server (@atproto/pds,
// what bsky.social runs) with a PLC directory beside it (@did-plc/server,
// in memory), both from npm. Halftone posts to it through the same XRPC
// calls it makes to bsky.social.
//
//   node tests/fediverse/pds.mjs PLC_PORT PDS_PORT DATA_DIR
//
// Prints "ready" on stdout once both listen. Accounts: the test makes them
// with com.atproto.server.createAccount (handles end in .test).

// @atproto/pds wants Node 22; Debian's Node 20 lacks only
// ArrayBuffer.prototype.transfer. This copies instead of detaching.
if (!ArrayBuffer.prototype.transfer) {
  ArrayBuffer.prototype.transfer = function (length = this.byteLength) {
    const copy = new ArrayBuffer(length);
    new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(length, this.byteLength)));
    return copy;
  };
}

const { PDS, envToCfg, envToSecrets } = await import("@atproto/pds");
const plc = await import("@did-plc/server");
const { Secp256k1Keypair } = await import("@atproto/crypto");
const fs = await import("node:fs");

const [PLC_PORT, PDS_PORT, DIR] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
fs.mkdirSync(`${DIR}/blobs`, { recursive: true });

const directory = plc.PlcServer.create({ db: plc.Database.mock(), port: PLC_PORT });
await directory.start();

const rotation = await Secp256k1Keypair.create({ exportable: true });
const env = {
  port: PDS_PORT,
  hostname: "localhost",
  devMode: true,
  didPlcUrl: `http://localhost:${PLC_PORT}`,
  jwtSecret: "halftone-test-jwt",
  adminPassword: "halftone-admin",
  plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotation.export()).toString("hex"),
  dataDirectory: DIR,
  blobstoreDiskLocation: `${DIR}/blobs`,
  inviteRequired: false,
  serviceHandleDomains: [".test"],
};
const pds = await PDS.create(envToCfg(env), envToSecrets(env));
await pds.start();
console.log("ready");
