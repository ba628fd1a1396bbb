// A small undici client for the REST API e2e suites: JSON in, status and JSON (or text) out, bearer token optional.
import { request, type Dispatcher } from 'undici';

export interface RestAnswer {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export class Rest {
  token: string | null = null;

  constructor(public base: string, private readonly dispatcher?: Dispatcher) {}

  async call(method: Dispatcher.HttpMethod, path: string, body?: unknown, options: { token?: string | null; raw?: string | Buffer } = {}): Promise<RestAnswer> {
    const token = options.token === undefined ? this.token : options.token;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await request(`${this.base}${path}`, { method, headers, body: payload, dispatcher: this.dispatcher });
    const text = await res.body.text();
    let json: unknown = null;
    try {
      json = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.statusCode, json, text };
  }

  async login(username = 'iggy', password = 'iggy'): Promise<RestAnswer> {
    const answer = await this.call('POST', '/users/login', { username, password }, { token: null });
    if (answer.status === 200) this.token = answer.json.access_token.token;
    return answer;
  }
}
