import type { INestApplication } from '@nestjs/common';

/** Starts `app` on a free port of 127.0.0.1 and returns a function that GETs JSON from it. */
export async function listen(app: INestApplication): Promise<(path: string) => Promise<any>> {
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return async (path) => {
    const response = await fetch(url + path);
    const body = await response.json();
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${JSON.stringify(body)}`);
    return body;
  };
}
