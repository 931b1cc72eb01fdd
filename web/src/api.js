// The openEO API as the page uses it: a bearer token in memory (sessionStorage), no cookies.
export const API = "/openeo/1.2";
const KEY = "eostation.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function logout() {
  sessionStorage.removeItem(KEY);
}

export async function login(user, password) {
  const r = await fetch(API + "/credentials/basic", {
    headers: { Authorization: "Basic " + btoa(user + ":" + password) },
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.message || r.statusText);
  sessionStorage.setItem(KEY, "basic//" + body.access_token);
}

export async function call(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // API paths are relative to the openEO root; the dashboard's own images are not.
  const own = ["/tiles/", "/quicklooks/", "/archive/", API + "/"].some((p) => path.startsWith(p));
  const url = path.startsWith("/") && !own ? API + path : path;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 || r.status === 403) {
    const err = await r.json().catch(() => ({}));
    if (["AuthenticationRequired", "TokenInvalid", "AuthenticationSchemeInvalid"].includes(err.code)) {
      logout();
      location.hash = "#/login";
    }
    throw new Error(err.message || r.statusText);
  }
  if (!r.ok) {
    const err = await r.json().catch(() => ({}));
    throw new Error(err.message || `${r.status} ${r.statusText}`);
  }
  if (raw) return r;
  if (r.status === 204 || r.status === 202) return null;
  return r.json();
}

// Fetches an image with the token and returns an object URL (for <img> and map tiles).
export async function imageUrl(url) {
  const r = await call(url, { raw: true });
  return URL.createObjectURL(await r.blob());
}
