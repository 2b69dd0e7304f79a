/**
 * `target` with some of its methods replaced, for fault injection around a real store or client: everything not in
 * `overrides` is forwarded to `target` (methods bound to it). Safe to import from child processes (no vitest).
 */
export function overrideMethods<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) return Reflect.get(overrides, property);
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
