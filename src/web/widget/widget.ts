/**
 * <crossline-callback site="pk_…">: the call-me-back button. Plain custom element, shadow DOM,
 * no third-party request (the API is the origin this script came from), no inline script or eval
 * (styles through a constructed style sheet), so it works under a strict CSP.
 */
import { AsYouType, getCountryCallingCode, type CountryCode, type MetadataJson, type PhoneNumber } from 'libphonenumber-js/core';
import { solveChallenge } from 'altcha-lib/v1';
import { CSS } from './styles.js';
import { ENGLISH, pickLang, textsFor, type Lang, type TextKey, type Texts } from './i18n.js';

interface SiteConfig {
  name: string;
  defaultCountry: string;
  countries: string[];
  enabled: boolean;
  openNow: boolean;
  slots: string[];
  /** libphonenumber-js metadata of `countries` only (the server cuts it to size). */
  phoneMetadata: MetadataJson;
}
interface Challenge {
  algorithm: string;
  challenge: string;
  maxnumber?: number;
  salt: string;
  signature: string;
}
interface VisitorStatus {
  state: 'scheduled' | 'calling-site' | 'calling-you' | 'connected' | 'completed' | 'retrying' | 'failed' | 'canceled';
  at?: string;
  final: boolean;
}
interface ApiError {
  error?: { code?: string };
}

const SCRIPT = document.currentScript as HTMLScriptElement | null;
/** Where the API is: the origin this script was loaded from. */
const SCRIPT_ORIGIN = SCRIPT?.src ? new URL(SCRIPT.src).origin : location.origin;

let sheet: CSSStyleSheet | undefined;
let uid = 0;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

class CrosslineCallback extends HTMLElement {
  private locale: Lang = 'en';
  private texts: Texts = ENGLISH;
  private root: ShadowRoot;
  private site: SiteConfig | undefined;
  private stream: EventSource | undefined;
  private els: Record<string, HTMLElement> = {};

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    sheet ??= new CSSStyleSheet();
    if (sheet.cssRules.length === 0) sheet.replaceSync(CSS);
    this.root.adoptedStyleSheets = [sheet];
  }

  private t(key: TextKey, values: Record<string, string> = {}): string {
    return this.texts[key].replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');
  }

  private get api(): string {
    return this.getAttribute('api') ?? SCRIPT_ORIGIN;
  }

  private get key(): string {
    return this.getAttribute('site') ?? '';
  }

  connectedCallback(): void {
    this.locale = pickLang(this);
    void this.load();
  }

  disconnectedCallback(): void {
    this.stream?.close();
  }

  private async load(): Promise<void> {
    const site = fetch(`${this.api}/v1/widget/sites/${encodeURIComponent(this.key)}`, { credentials: 'omit' });
    site.catch(() => undefined);
    this.texts = await textsFor(this.api, this.locale);
    const card = h('section', { class: 'card', 'aria-labelledby': 'cl-title' });
    const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'cl-status' });
    card.append(h('h2', { id: 'cl-title' }, this.t('title')), status);
    this.root.replaceChildren(card);
    this.els = { card, status };
    try {
      const res = await site;
      const body = (await res.json()) as SiteConfig & ApiError;
      if (!res.ok) return this.fail(body.error?.code);
      this.site = body;
      if (!body.enabled) return this.fail('SITE_DISABLED');
      this.drawForm();
    } catch {
      this.fail(undefined);
    }
  }

  private fail(code: string | undefined): void {
    const key = (code !== undefined && Object.hasOwn(this.texts, code) ? code : 'generic') as TextKey;
    this.showStatus(this.t(key), 'failed');
  }

  private showStatus(text: string, state: string): void {
    const status = this.els.status;
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  }

  private drawForm(): void {
    const site = this.site as SiteConfig;
    const n = ++uid;
    const id = (name: string): string => `cl-${name}-${n}`;
    const countries = site.countries as CountryCode[];
    const meta = site.phoneMetadata;
    const names = new Intl.DisplayNames([this.locale], { type: 'region' });
    const country = h('select', { id: id('country'), autocomplete: 'tel-country-code' });
    for (const code of countries.map((c) => [c, names.of(c) ?? c] as const).sort((a, b) => a[1].localeCompare(b[1], this.locale))) {
      const option = h('option', { value: code[0] }, `${code[1]} (+${getCountryCallingCode(code[0], meta)})`);
      if (code[0] === site.defaultCountry) option.selected = true;
      country.append(option);
    }
    const phone = h('input', { id: id('phone'), type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: '', 'aria-describedby': `${id('hint')} ${id('phone-err')}` });
    const phoneErr = h('p', { class: 'error', id: id('phone-err') });
    const name = h('input', { id: id('name'), type: 'text', autocomplete: 'name', maxlength: '64' });
    const now = h('input', { type: 'radio', name: id('when'), value: 'now', id: id('now') });
    const later = h('input', { type: 'radio', name: id('when'), value: 'later', id: id('later') });
    const slot = h('select', { id: id('slot'), 'aria-describedby': id('slot-err') });
    const fmt = new Intl.DateTimeFormat(this.locale, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    for (const at of site.slots) slot.append(h('option', { value: at }, fmt.format(new Date(at))));
    const slotErr = h('p', { class: 'error', id: id('slot-err') });
    const consent = h('input', { type: 'checkbox', id: id('consent'), required: '', 'aria-describedby': id('consent-err') });
    const consentErr = h('p', { class: 'error', id: id('consent-err') });
    const submit = h('button', { type: 'submit' }, this.t('submit'));
    const slotRow = h('div', {}, h('label', { for: id('slot') }, this.t('slot')), slot, slotErr);

    if (site.openNow) now.checked = true;
    else {
      now.disabled = true;
      later.checked = true;
    }
    if (site.slots.length === 0) later.disabled = true;
    const syncSlot = (): void => {
      slotRow.hidden = !later.checked;
    };
    now.addEventListener('change', syncSlot);
    later.addEventListener('change', syncSlot);
    syncSlot();

    const typer = (): AsYouType => new AsYouType(country.value as CountryCode, meta);
    phone.addEventListener('input', () => {
      // format as they type, but leave the text alone while they delete
      const value = phone.value;
      if ((phone.selectionStart ?? value.length) === value.length) phone.value = typer().input(value);
      phoneErr.textContent = '';
      phone.removeAttribute('aria-invalid');
    });
    // checked when they leave the field, not at every digit (a half-typed number is not wrong yet)
    phone.addEventListener('change', () => {
      if (phone.value.trim() && !this.parse(phone.value, country.value)?.isValid()) {
        phoneErr.textContent = this.t('errPhone');
        phone.setAttribute('aria-invalid', 'true');
      }
    });
    country.addEventListener('change', () => {
      if (phone.value) phone.value = typer().input(phone.value.replace(/[^\d+]/g, ''));
    });

    const form = h(
      'form',
      { novalidate: '' },
      h('p', {}, this.t('intro', { site: site.name })),
      h('label', { for: id('country') }, this.t('country')),
      country,
      h('label', { for: id('phone') }, this.t('phone')),
      phone,
      h('p', { class: 'hint', id: id('hint') }, this.t('phoneHint')),
      phoneErr,
      h('label', { for: id('name') }, this.t('name')),
      name,
      h(
        'fieldset',
        {},
        h('legend', {}, this.t('when')),
        h('label', { class: 'choice', for: id('now') }, now, this.t('now')),
        ...(site.openNow ? [] : [h('p', { class: 'hint' }, this.t('closedNow'))]),
        h('label', { class: 'choice', for: id('later') }, later, this.t('later')),
        slotRow,
      ),
      h('label', { class: 'choice', for: id('consent') }, consent, this.t('consent', { site: site.name })),
      consentErr,
      submit,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit({ form, country, phone, phoneErr, name, later, slot, slotErr, consent, consentErr, submit });
    });
    this.els.card?.insertBefore(form, this.els.status ?? null);
    this.els.form = form;
  }

  /** The visitor's number read with the site's phone rules, by the same parser that formats it. */
  private parse(text: string, country: string): PhoneNumber | undefined {
    const typer = new AsYouType(country as CountryCode, (this.site as SiteConfig).phoneMetadata);
    typer.input(text);
    return typer.getNumber();
  }

  private async submit(f: {
    form: HTMLFormElement; country: HTMLSelectElement; phone: HTMLInputElement; phoneErr: HTMLElement; name: HTMLInputElement;
    later: HTMLInputElement; slot: HTMLSelectElement; slotErr: HTMLElement; consent: HTMLInputElement; consentErr: HTMLElement; submit: HTMLButtonElement;
  }): Promise<void> {
    const parsed = this.parse(f.phone.value, f.country.value);
    const invalid = (input: HTMLElement, err: HTMLElement, text: string): void => {
      err.textContent = text;
      input.setAttribute('aria-invalid', 'true');
    };
    let first: HTMLElement | undefined;
    for (const [input, err] of [[f.phone, f.phoneErr], [f.slot, f.slotErr], [f.consent, f.consentErr]] as const) {
      err.textContent = '';
      input.removeAttribute('aria-invalid');
    }
    if (!parsed?.isValid()) {
      invalid(f.phone, f.phoneErr, this.t('errPhone'));
      first ??= f.phone;
    }
    if (f.later.checked && !f.slot.value) {
      invalid(f.slot, f.slotErr, this.t('errSlot'));
      first ??= f.slot;
    }
    if (!f.consent.checked) {
      invalid(f.consent, f.consentErr, this.t('errConsent'));
      first ??= f.consent;
    }
    if (first || !parsed) {
      first?.focus();
      return;
    }
    f.submit.disabled = true;
    this.showStatus(this.t('checking'), 'checking');
    try {
      const base = `${this.api}/v1/widget/sites/${encodeURIComponent(this.key)}`;
      const challengeRes = await fetch(`${base}/challenge`, { credentials: 'omit' });
      const challenge = (await challengeRes.json()) as Challenge & ApiError;
      if (!challengeRes.ok) return this.refused(challenge.error?.code, f.submit);
      const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
      if (!solution) return this.refused(undefined, f.submit);
      const body = {
        number: parsed.number,
        country: f.country.value,
        ...(f.name.value.trim() ? { name: f.name.value.trim() } : {}),
        ...(f.later.checked ? { at: f.slot.value } : {}),
        consent: true,
        pow: { algorithm: challenge.algorithm, challenge: challenge.challenge, number: solution.number, salt: challenge.salt, signature: challenge.signature },
      };
      const res = await fetch(`${base}/callbacks`, { method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const accepted = (await res.json()) as { status: VisitorStatus; events: string } & ApiError;
      if (!res.ok) return this.refused(accepted.error?.code, f.submit);
      f.form.hidden = true;
      this.follow(accepted.status, `${this.api}${accepted.events}`);
    } catch {
      this.refused(undefined, f.submit);
    }
  }

  private refused(code: string | undefined, submit: HTMLButtonElement): void {
    submit.disabled = false;
    this.fail(code);
  }

  private follow(initial: VisitorStatus, url: string): void {
    this.render(initial);
    const stream = new EventSource(url);
    this.stream = stream;
    stream.addEventListener('status', (event) => {
      const status = JSON.parse((event as MessageEvent<string>).data) as VisitorStatus;
      this.render(status);
      if (status.final) stream.close();
    });
  }

  private render(status: VisitorStatus): void {
    const at = new Date(status.at ?? 0);
    // the day as well when it is not today (a slot may be days away)
    const day: Intl.DateTimeFormatOptions = at.toDateString() === new Date().toDateString() ? {} : { weekday: 'short', day: 'numeric', month: 'short' };
    const time = status.at ? new Intl.DateTimeFormat(this.locale, { ...day, hour: '2-digit', minute: '2-digit' }).format(at) : '';
    this.showStatus(this.t(status.state, { site: this.site?.name ?? '', time }), status.state);
    if (status.final && !this.els.again) {
      const again = h('button', { type: 'button' }, this.t('again'));
      again.addEventListener('click', () => {
        this.stream?.close();
        this.els = {};
        void this.load();
      });
      this.els.card?.append(again);
      this.els.again = again;
    }
  }
}

if (!customElements.get('crossline-callback')) customElements.define('crossline-callback', CrosslineCallback);

// <script src=".../widget.js" data-site="pk_…" async>: the button goes where the script is.
const siteKey = SCRIPT?.dataset.site;
if (SCRIPT && siteKey) {
  const element = document.createElement('crossline-callback');
  element.setAttribute('site', siteKey);
  SCRIPT.after(element);
}
