// The console's shell: language, sign-in, the "session ended" and "not allowed" pages, and
// the page of the signed-in key's role. Roles' pages live in a folder each (store/, …).
// A shopper signs in with their user token (vu_…) and gets the page of their own data.
import { html, render, useState, useEffect } from "./html.js";
import { api, session, onAuthFailure } from "./api.js";
import { t, language, setLanguage, LANGUAGES } from "./i18n.js";
import { StorePage } from "./store/page.js";
import { TechPage } from "./tech/page.js";
import { OperatorPage } from "./operator/page.js";
import { ShopperPage } from "./shopper/page.js";

// The page of each role; a role missing here gets the "not allowed" page.
const PAGES = { store: StorePage, tech: TechPage, operator: OperatorPage, shopper: ShopperPage };
const KEY_CHECK_MS = 60000;
const USER_TOKEN_PREFIX = "vu_";

/** Who holds ``key``: a staff key's name and role, or a shopper (a user token, checked
 * with a call only users may make). Throws the API's error (401: unknown or erased). */
async function whoHolds(key, options) {
  if (!key.startsWith(USER_TOKEN_PREFIX)) return api("GET", "/v1/keys/me", undefined, options);
  await api("GET", "/v1/me/consent", undefined, options);
  return { role: "shopper", name: null };
}

function SignIn({ onSignedIn, onDenied, notice }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await whoHolds(key.trim(), { key: key.trim(), quiet: true });
      session.signIn(key.trim());
      onSignedIn(me);
    } catch (e) {
      // 403: a valid credential the API refuses here: the clear page.
      if (e.status === 403) onDenied(e);
      else setError(e.status === 401 ? t("signin.unknown") : e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="card narrow" aria-labelledby="signin-title">
      <h2 id="signin-title">${t("signin.title")}</h2>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <p>${t("signin.intro")}</p>
      <form onSubmit=${submit} novalidate>
        <label for="api-key">${t("signin.key")}</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false"
          required value=${key} onInput=${(e) => setKey(e.target.value)}
          aria-invalid=${error ? "true" : "false"} aria-describedby="api-key-error" />
        <p id="api-key-error" class="field-error" role="alert">${error || ""}</p>
        <button type="submit" disabled=${busy || !key.trim()}>${t("signin.submit")}</button>
      </form>
    </section>`;
}

/** The session ended (401: key unknown or revoked) or the key may not do this (403). */
function Stopped({ error, signOut }) {
  const revoked = error.status === 401;
  return html`
    <section class="card narrow stopped" role="alert" aria-labelledby="stopped-title">
      <h2 id="stopped-title">${revoked ? t("ended.title") : t("denied.title")}</h2>
      <p>${revoked ? t("ended.text") : t("denied.text")}</p>
      ${error.detail && html`<p class="detail">${error.detail}</p>`}
      <button type="button" onClick=${signOut}>${revoked ? t("ended.again") : t("signout")}</button>
    </section>`;
}

function App() {
  const [lang, setLang] = useState(language());
  const [me, setMe] = useState(null);
  const [stopped, setStopped] = useState(null);
  const [checking, setChecking] = useState(Boolean(session.key()));
  const [notice, setNotice] = useState(null); // said on the sign-in page (e.g. "erased")

  useEffect(() => onAuthFailure((error) => {
    if (error.status === 401) session.signOut();
    setStopped(error);
  }), []);
  useEffect(() => {
    if (!session.key()) return;
    whoHolds(session.key()).then(setMe, () => {}).finally(() => setChecking(false));
  }, []);
  useEffect(() => { document.documentElement.lang = lang; document.title = t("title"); }, [lang]);
  // A key revoked while the page sits idle ends the session too: checked every minute and
  // whenever the tab comes back to the front.
  useEffect(() => {
    if (!me) return undefined;
    const check = () => session.key() && whoHolds(session.key()).catch(() => {});
    const timer = setInterval(check, KEY_CHECK_MS);
    addEventListener("focus", check);
    return () => { clearInterval(timer); removeEventListener("focus", check); };
  }, [me]);

  const signOut = (said = null) => {
    session.signOut();
    setMe(null);
    setStopped(null);
    setNotice(typeof said === "string" ? said : null);
    history.replaceState(null, "", location.pathname);
  };
  const Page = me && PAGES[me.role];
  let main;
  if (stopped) main = html`<${Stopped} error=${stopped} signOut=${signOut} />`;
  else if (checking) main = html`<p class="loading">${t("loading")}</p>`;
  else if (!me) main = html`<${SignIn} onSignedIn=${(who) => { setNotice(null); setMe(who); }} onDenied=${setStopped} notice=${notice} />`;
  else if (!Page) {
    const detail = t("denied.role", { role: t(`role.${me.role}`) });
    main = html`<${Stopped} error=${{ status: 403, detail }} signOut=${signOut} />`;
  } else main = html`<${Page} me=${me} lang=${lang} signOut=${signOut} />`;

  return html`
    <a class="skip" href="#main">${t("skip")}</a>
    <header class="top">
      <h1>Vicinity <span>${t("console")}</span></h1>
      <div class="top-tools">
        <label for="lang">${t("language")}</label>
        <select id="lang" value=${lang} onChange=${(e) => { setLanguage(e.target.value); setLang(e.target.value); }}>
          ${LANGUAGES.map(([code, name]) => html`<option value=${code}>${name}</option>`)}
        </select>
        ${Page && !stopped && html`
          <span class="who">${me.name ? `${me.name} · ` : ""}${t(`role.${me.role}`)}</span>
          <button type="button" class="link" onClick=${() => signOut()}>${t("signout")}</button>`}
      </div>
    </header>
    <main id="main" tabindex="-1">${main}</main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "loading" line the page shows until this script runs
render(html`<${App} />`, root);
