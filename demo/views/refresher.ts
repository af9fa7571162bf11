/**
 * One refresh of a set of views at a time: a call while one runs makes it
 * run once more afterwards (so the views end up showing the newest model and
 * inputs), and a failure is shown on the page and kept for tests.
 */
import { clearMessage, showMessage } from '../ui/dom.ts';

export class Refresher {
  /** Errors met while drawing the views. */
  readonly errors: string[] = [];
  refreshes = 0;
  private busy: Promise<void> | null = null;
  private again = false;

  /** `key` names the page message a failure shows under. */
  constructor(private readonly once: () => Promise<void>, private readonly key = 'views') {}

  get running(): boolean {
    return this.busy !== null;
  }

  /** Recomputes the views; a call during a refresh runs once more afterwards. */
  refresh(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.once();
            this.refreshes++;
            clearMessage(this.key);
          } catch (e) {
            this.errors.push((e as Error).message);
            showMessage(`The views could not be drawn: ${(e as Error).message}`, 'error', this.key);
          }
        } while (this.again);
      } finally {
        this.busy = null;
      }
    })();
    return this.busy;
  }
}
