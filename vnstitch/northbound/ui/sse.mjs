// Server-sent events read from a fetch() body (EventSource cannot send the bearer token in a
// header). Pure: text in, events out; the caller feeds it whatever the network delivers.

/** A parser that keeps a partial event between chunks. */
export function createSseParser() {
  let buffer = "";
  let fields = { event: "message", data: [], id: null };
  let retryMs = null;

  function flush(out) {
    if (fields.data.length > 0) {
      out.push({ event: fields.event, data: fields.data.join("\n"), id: fields.id });
    }
    fields = { event: "message", data: [], id: fields.id };
  }

  function line(text, out) {
    if (text === "") {
      flush(out);
      return;
    }
    if (text.startsWith(":")) return; // a comment: the heartbeat
    const colon = text.indexOf(":");
    const name = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") fields.event = value;
    else if (name === "data") fields.data.push(value);
    else if (name === "id") fields.id = value;
    else if (name === "retry" && /^\d+$/.test(value)) retryMs = Number(value);
  }

  return {
    /** Feed a chunk of text; returns the events it completed, in order. */
    push(chunk) {
      buffer += chunk;
      const out = [];
      let end;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        if (end === buffer.length - 1 && buffer[end] === "\r") break; // "\r\n" split across chunks
        const text = buffer.slice(0, end);
        const width = buffer.startsWith("\r\n", end) ? 2 : 1;
        buffer = buffer.slice(end + width);
        line(text, out);
      }
      return out;
    },
    /** The reconnection delay the server asked for (ms), or null. */
    get retryMs() {
      return retryMs;
    },
  };
}
