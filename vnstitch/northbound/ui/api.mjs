// The REST API as the page uses it: every call with the bearer token in the Authorization
// header (never in a URL), the live feed read with fetch() as server-sent events, and polling
// when the stream cannot be had.

import { createSseParser } from "./sse.mjs";

const POLL_MS = 2000;
const STALL_MS = 25000; // the server sends a heartbeat every 10 s: silence this long is a dead stream
const STREAM_TRIES_BEFORE_POLLING = 3;
const STREAM_RETRY_WHILE_POLLING_MS = 30000;

export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls to the API with the token (or none: open reads). */
export class Api {
  constructor(token) {
    this.token = token || null;
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** {status, body}; the body is the decoded JSON (or text). Network errors throw. */
  async request(method, path, body = undefined, signal = undefined) {
    const init = { method, headers: this.headers(), signal, cache: "no-store" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let decoded = text;
    try {
      decoded = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: decoded };
  }

  /** GET that throws AuthError on 401/403 and Error on any other failure. */
  async get(path, signal = undefined) {
    const { status, body } = await this.request("GET", path, undefined, signal);
    if (status === 401 || status === 403) throw new AuthError(status, errorText(body, status));
    if (status !== 200) throw new Error(errorText(body, status));
    return body;
  }
}

export function errorText(body, status) {
  if (body && typeof body === "object" && body.error) return `${status}: ${body.error}`;
  return `HTTP ${status}`;
}

/** Everything the page shows, by plain GETs (the first poll, and after a gap). */
export async function fetchSnapshot(api, signal) {
  const [topology, reservations, intents, links, forecasts, stats] = await Promise.all([
    api.get("/v1/topology", signal),
    api.get("/v1/reservations", signal),
    api.get("/v1/intents", signal),
    api.get("/v1/links", signal),
    api.get("/v1/forecasts", signal),
    api.get("/v1/stats", signal),
  ]);
  return {
    topology,
    reservations: reservations.reservations,
    intents: intents.intents,
    links: links.links,
    forecasts,
    stats,
  };
}

/**
 * Keep the page up to date: the SSE stream, reconnected when it drops; polling when the stream
 * fails repeatedly (or is refused with 503), trying the stream again now and then.
 * handlers: onMessage(event, data), onSnapshot(snap), onPolled(polled), onMode(mode, detail),
 * onAuthError(err), version() -> the topology version the page holds.
 */
export function connectLive(api, handlers) {
  let stopped = false;
  let failures = 0;
  let controller = null;
  let timer = null;

  const wait = (ms) =>
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    });

  async function stream() {
    controller = new AbortController();
    let stall = null;
    const kick = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(), STALL_MS);
    };
    try {
      kick();
      const response = await fetch("/v1/stream", {
        headers: api.headers({ Accept: "text/event-stream" }),
        signal: controller.signal,
        cache: "no-store",
      });
      if (response.status === 401 || response.status === 403) {
        const body = await response.json().catch(() => null);
        throw new AuthError(response.status, errorText(body, response.status));
      }
      if (response.status === 503) return "busy";
      if (!response.ok || !response.body) return "failed";
      const parser = createSseParser();
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) break;
        kick();
        for (const message of parser.push(decoder.decode(value, { stream: true }))) {
          if (first) {
            handlers.onMode("live");
            failures = 0;
            first = false;
          }
          handlers.onMessage(message.event, JSON.parse(message.data));
        }
      }
      return "ended";
    } catch (err) {
      if (err instanceof AuthError) throw err;
      return "failed";
    } finally {
      clearTimeout(stall);
    }
  }

  async function pollOnce() {
    const version = handlers.version();
    if (version === null) {
      handlers.onSnapshot(await fetchSnapshot(api));
      return;
    }
    const events = await api.get(`/v1/topology/events?since=${version}`);
    const listed = events.events || [];
    const dropped = listed.length ? listed[0].version > version + 1 : events.version > version;
    if (dropped || events.version < version) {
      // The log dropped events we never saw, or the controller restarted: start again.
      handlers.onSnapshot(await fetchSnapshot(api));
      return;
    }
    const [reservations, intents, links, forecasts, stats] = await Promise.all([
      api.get("/v1/reservations"),
      api.get("/v1/intents"),
      api.get("/v1/links"),
      api.get("/v1/forecasts"),
      api.get("/v1/stats"),
    ]);
    handlers.onPolled({ events, reservations, intents, links, forecasts, stats });
  }

  async function poll(untilMs) {
    handlers.onMode("polling");
    while (!stopped && Date.now() < untilMs) {
      try {
        await pollOnce();
        handlers.onMode("polling");
      } catch (err) {
        if (err instanceof AuthError) throw err;
        handlers.onMode("offline", err.message);
      }
      await wait(POLL_MS);
    }
  }

  async function run() {
    while (!stopped) {
      const outcome = await stream();
      if (stopped) break;
      if (outcome === "ended") {
        await wait(1000); // the server closed it (its lifetime): reconnect at once
        continue;
      }
      failures += 1;
      if (outcome === "busy" || failures >= STREAM_TRIES_BEFORE_POLLING) {
        await poll(Date.now() + STREAM_RETRY_WHILE_POLLING_MS);
      } else {
        handlers.onMode("connecting");
        await wait(2000);
      }
    }
  }

  run().catch((err) => {
    if (!stopped && err instanceof AuthError) handlers.onAuthError(err);
  });

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
  };
}
