// Small form pieces shared by every page: a labelled field with its error beside it.
import { html } from "./html.js";

/** A label, an input (or a select or textarea given as ``children``) and its error. */
export function Field({ id, label, error, hint, children, ...input }) {
  const described = [error && `${id}-error`, hint && `${id}-hint`].filter(Boolean).join(" ") || undefined;
  const control = children
    ? children({ id, "aria-invalid": error ? "true" : "false", "aria-describedby": described })
    : html`<input id=${id} aria-invalid=${error ? "true" : "false"} aria-describedby=${described} ...${input} />`;
  return html`
    <div class="field">
      <label for=${id}>${label}</label>
      ${control}
      ${hint && html`<p id=${`${id}-hint`} class="hint">${hint}</p>`}
      <p id=${`${id}-error`} class="field-error">${error || ""}</p>
    </div>`;
}

/** A group of checkboxes with a legend; ``values`` is the checked list. */
export function Checks({ legend, name, options, values, onChange, error, className = "" }) {
  const toggle = (value, on) => onChange(on ? [...values, value] : values.filter((v) => v !== value));
  return html`
    <fieldset class=${`checks ${className}`} aria-describedby=${`${name}-error`}>
      <legend>${legend}</legend>
      ${options.map(({ value, label, indent }) => html`
        <label class=${indent ? "indent" : ""}>
          <input type="checkbox" name=${name} value=${value} checked=${values.includes(value)}
            onChange=${(e) => toggle(value, e.target.checked)} /> ${label}
        </label>`)}
      <p id=${`${name}-error`} class="field-error">${error || ""}</p>
    </fieldset>`;
}
