/**
 * Channel variables in FreeSWITCH order. switch_channel_set_variable deletes the old value and
 * appends the new one, so re-setting a variable moves it to the end: the variable_* header order in
 * the traces depends on it.
 */
export class VariableList {
  private readonly entries = new Map<string, string>();

  set(name: string, value: string): void {
    this.entries.delete(name);
    this.entries.set(name, value);
  }

  setAll(pairs: Iterable<readonly [string, string]>): void {
    for (const [name, value] of pairs) this.set(name, value);
  }

  get(name: string): string | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  unset(name: string): void {
    this.entries.delete(name);
  }

  /** As `variable_<name>` headers, the way extended event data lists them. */
  headers(): Array<readonly [string, string]> {
    return [...this.entries].map(([name, value]) => [`variable_${name}`, value] as const);
  }

  toRecord(): Record<string, string> {
    return Object.fromEntries(this.entries);
  }
}
