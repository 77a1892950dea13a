// The JSON API, called with the API key kept in this tab's session storage (never a URL).
const KEY = "vicinity.key";

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key) => sessionStorage.setItem(KEY, key),
  signOut: () => sessionStorage.removeItem(KEY),
};

/** An error answer: its status, the API's sentence and its per-field problems. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.detail = body?.detail || `HTTP ${status}`;
    this.problems = body?.problems || [];
    // An import's per-row or per-feature report (e.g. the GeoJSON import's 422).
    this.errors = body?.errors || [];
  }

  /** The problem naming ``field`` (a dotted path, e.g. "properties.name"), if any: from
   * the schema's problems, or a domain check's sentence that opens with the field's name. */
  about(field) {
    const hit = this.problems.find((p) => p.field === field || p.field.startsWith(field + "."));
    if (hit) return hit.message;
    return this.detail.startsWith(`${field} `) ? this.detail : null;
  }
}

// Whoever shows the "session ended" or "not allowed" page listens here: any call answered
// 401 (key revoked) or 403 (role lacking) ends up there, wherever it was made.
const listeners = new Set();
export const onAuthFailure = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };

/** ``quiet``: a 401 or 403 is the caller's to show (the sign-in form), not a page change.
 * ``type``: ``body`` is sent as is with that Content-Type (a CSV file), not as JSON. */
export async function api(method, path, body, { key = session.key(), quiet = false, type } = {}) {
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = type || "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined || type ? body : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (!quiet && (response.status === 401 || response.status === 403)) {
      listeners.forEach((fn) => fn(error));
      // The shell replaces the page: the caller neither goes on nor has an error to show.
      return new Promise(() => {});
    }
    throw error;
  }
  return data;
}

/** Every item of a paged list (``?after=&limit=``, ``next_after``), in order. */
export async function everything(path, field = "items") {
  const items = [];
  let after = 0;
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", `${path}${sep}after=${after}&limit=200`);
    items.push(...page[field]);
    if (page.next_after == null) return items;
    after = page.next_after;
  }
}
