"use strict";
// Checks a handin receipt file in the browser: the JWS signature (Ed25519,
// WebCrypto), the bundle's SHA-256, the checkpoint's signed-note signature
// and the RFC 9162 inclusion proof. Nothing leaves the page.
(function () {
  const $ = (id) => document.getElementById(id);
  const text = new TextEncoder();

  const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const fromB64url = (s) => {
    const b = s.replace(/-/g, "+").replace(/_/g, "/");
    return fromB64(b + "===".slice((b.length + 3) % 4));
  };
  const hex = (bytes) => Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const node = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  async function publicKey(jwk) {
    return crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
  }

  async function checkJws(jws, keys) {
    const [h, p, s] = jws.trim().split(".");
    if (!s) throw new Error("the receipt's \"jws\" is not a compact JWS");
    const header = JSON.parse(new TextDecoder().decode(fromB64url(h)));
    const key = keys.find((k) => k.kid === header.kid);
    if (!key) throw new Error("no key of handin's has the id " + header.kid);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, await publicKey(key), fromB64url(s), text.encode(h + "." + p));
    if (!ok) throw new Error("the signature does not match key " + header.kid + ": the receipt was changed or not signed by handin");
    return { key, payload: JSON.parse(new TextDecoder().decode(fromB64url(p))) };
  }

  async function openCheckpoint(note, origin, key) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint is not a signed note");
    const body = note.slice(0, split + 1);
    const pub = fromB64url(key.x);
    const id = (await sha256(concat(text.encode(origin + "\n"), new Uint8Array([1]), pub))).slice(0, 4);
    for (const line of note.slice(split + 2).split("\n")) {
      const m = line.match(/^\u2014 (\S+) (\S+)$/);
      if (!m || m[1] !== origin) continue;
      const sig = fromB64(m[2]);
      if (sig.length !== 68 || !same(sig.slice(0, 4), id)) continue;
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, await publicKey(key), sig.slice(4), text.encode(body));
      if (!ok) throw new Error("the checkpoint's signature does not verify: it was changed");
      const [name, size, root] = body.split("\n");
      if (name !== origin) throw new Error("the checkpoint is of another log");
      return { size: Number(size), root: fromB64(root) };
    }
    throw new Error("the checkpoint is not signed by " + origin + " with the receipt's key");
  }

  // RFC 9162 section 2.1.3.2.
  async function included(index, size, leaf, proof, root) {
    if (index >= size) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await node(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await node(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(r, root);
  }

  async function check(file, bundle, keys) {
    const proved = [], failed = [];
    if (typeof file.jws !== "string") { failed.push("This is not a handin receipt file (it has no \"jws\")."); return { proved, failed }; }
    let checked;
    try { checked = await checkJws(file.jws, keys); } catch (e) { failed.push("The signature does not check: " + e.message + "."); return { proved, failed }; }
    const p = checked.payload;
    if (p.typ !== "receipt") { failed.push("This is a signed " + p.typ + " statement, not a receipt."); return { proved, failed }; }
    const at = Date.parse(p.received_at);
    const from = checked.key.valid_from ? Date.parse(checked.key.valid_from) : -Infinity;
    const until = checked.key.valid_until ? Date.parse(checked.key.valid_until) : Infinity;
    if (!(at >= from && at <= until)) {
      failed.push("The receipt says " + p.received_at + " but key " + checked.key.kid + " did not sign then: it cannot have signed this.");
      return { proved, failed };
    }
    proved.push("handin's key " + checked.key.kid + " signed this receipt: " + p.course + " " + p.assignment + " attempt " + p.attempt +
      " by " + p.student + ", received " + p.received_at + " (" + p.size + " bytes, SHA-256 " + p.sha256 + "), judged " + p.status +
      " against the deadline " + p.deadline + ".");
    if (bundle) {
      const actual = hex(await sha256(new Uint8Array(await bundle.arrayBuffer())));
      if (actual === p.sha256) proved.push("The bundle given is the one handed in: its SHA-256 is the receipt's.");
      else failed.push("The bundle given is not the one handed in: its SHA-256 is " + actual + ", the receipt's is " + p.sha256 + ".");
    }
    const log = file.log || {};
    let cp;
    if (log.origin !== p.iss) { failed.push("The file's log is not " + p.iss + ", the one the receipt was signed into."); return { proved, failed }; }
    try { cp = await openCheckpoint(String(log.checkpoint || ""), String(p.iss || ""), checked.key); } catch (e) { failed.push("The log's checkpoint does not check: " + e.message + "."); return { proved, failed }; }
    if (p.log_index !== log.index) { failed.push("The receipt's own log position is not the one the file claims."); return { proved, failed }; }
    const leaf = await sha256(concat(new Uint8Array([0]), await sha256(text.encode(file.jws.trim()))));
    const proof = (log.inclusion_proof || []).map(fromB64);
    if (await included(log.index, cp.size, leaf, proof, cp.root)) {
      proved.push("The receipt is entry " + log.index + " of log " + log.origin + ", whose signed checkpoint of " + cp.size +
        (cp.size === 1 ? " entry" : " entries") + " includes it: handin cannot later deny or change it without the log showing it.");
    } else {
      failed.push("The inclusion proof does not lead from entry " + log.index + " to the checkpoint's root: the receipt is not in that log.");
    }
    return { proved, failed };
  }

  const carried = JSON.parse($("keys").textContent).keys || [];
  $("kids").textContent = carried.map((k) => k.kid).join(", ") || "none";

  $("check").addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = $("outcome"), list = $("findings");
    list.replaceChildren();
    outcome.className = "";
    outcome.textContent = "Checking…";
    let result;
    try {
      const file = JSON.parse(await $("receipt").files[0].text());
      const jwks = $("jwks").files[0] ? JSON.parse(await $("jwks").files[0].text()).keys : carried;
      result = await check(file, $("bundle").files[0], jwks || []);
    } catch (e) {
      result = { proved: [], failed: ["The receipt file cannot be read: " + e.message + "."] };
    }
    for (const [kind, lines] of [["proved", result.proved], ["failed", result.failed]]) {
      for (const line of lines) {
        const item = document.createElement("li");
        item.className = kind;
        item.textContent = line;
        list.append(item);
      }
    }
    const valid = result.failed.length === 0 && result.proved.length > 0;
    outcome.className = valid ? "valid" : "invalid";
    outcome.dataset.outcome = valid ? "valid" : "invalid";
    outcome.textContent = valid ? "This receipt is genuine." : "This receipt does not check.";
  });
})();
