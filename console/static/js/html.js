// Preact with htm: components written as tagged templates, no compile step.
import { h, render, Fragment } from "../vendor/preact/preact.module.js";
import htm from "../vendor/htm/htm.module.js";

export const html = htm.bind(h);
export { render, Fragment };
export {
  useState, useEffect, useRef, useMemo, useCallback,
} from "../vendor/preact/hooks.module.js";
