/** Element properties for {@link el}. */
interface Props {
  readonly class?: string;
  readonly text?: string;
  readonly title?: string;
  /** Attributes (data-*, aria-*, type, ...). */
  readonly attrs?: Readonly<Record<string, string>>;
  readonly on?: { readonly [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

/** Creates an element: text is set as text (never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: ReadonlyArray<Node | string | null | undefined> = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class !== undefined) element.className = props.class;
  if (props.text !== undefined) element.textContent = props.text;
  if (props.title !== undefined) element.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const [name, listener] of Object.entries(props.on ?? {})) element.addEventListener(name, listener as EventListener);
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, children: ReadonlyArray<Node | string | null | undefined>): void {
  parent.replaceChildren(...children.filter((child): child is Node | string => child !== null && child !== undefined));
}

/** Offers `content` as a file download named `name`. */
export function download(name: string, content: Blob): void {
  const url = URL.createObjectURL(content);
  const link = el("a", { attrs: { href: url, download: name } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
