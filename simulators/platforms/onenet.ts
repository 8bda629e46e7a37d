import { createHash, randomBytes } from 'node:crypto'

/**
 * OneNET-shaped HTTP pushes (open.iot.10086.cn … push/http_push.html): the URL check GET and the
 * signed POST `{msg, nonce, signature, time, id}` with signature = Base64(MD5(token + nonce + msg)).
 * Written from the documented format, not captured from OneNET.
 */

export function onenetSign(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(`${token}${nonce}${msg}`, 'utf8').digest('base64')
}

/** A property notify of one device: each value with its time. */
export function onenetProperty(
  deviceName: string,
  values: Record<string, unknown>,
  time = Date.now(),
  productId = 'zhianpid01',
): Record<string, unknown> {
  const params = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, time }]))
  return {
    productId,
    deviceName,
    messageType: 'notify',
    notifyType: 'property',
    data: { id: String(time % 100000), params },
  }
}

/** An LwM2M device's own frame as a property push: object 19/0/0 (Binary App Data Container), hex. */
export function onenetOpaque(
  deviceName: string,
  imei: string,
  bytes: Buffer,
  time = Date.now(),
  productId = 'zhianpid01',
) {
  return {
    productId,
    deviceName,
    imei,
    messageType: 'notify',
    notifyType: 'property',
    data: { id: String(time % 100000), params: { '19_0_0': { value: bytes.toString('hex'), time } } },
  }
}

export function onenetLifeCycle(
  deviceName: string,
  online: boolean,
  time = Date.now(),
  productId = 'zhianpid01',
) {
  return {
    productId,
    deviceName,
    messageType: 'lifeCycle',
    data: { status: online ? 'online' : 'offline', time },
  }
}

/** The POST body OneNET sends: msg as a JSON string, signed with the push token. */
export function onenetBody(
  token: string,
  msg: unknown,
  id: string,
  time = Date.now(),
): Record<string, unknown> {
  const text = JSON.stringify(msg)
  const nonce = randomBytes(6).toString('base64url').slice(0, 8)
  return { msg: text, nonce, signature: onenetSign(token, nonce, text), time, id }
}

export async function onenetPost(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** The URL check OneNET makes when the push URL is saved: the receiver must answer `msg`. */
export async function onenetVerify(
  url: string,
  token: string,
  msg = randomBytes(8).toString('hex'),
): Promise<{ msg: string; res: Response }> {
  const nonce = randomBytes(6).toString('base64url').slice(0, 8)
  const q = new URLSearchParams({ msg, nonce, signature: onenetSign(token, nonce, msg) })
  return { msg, res: await fetch(`${url}?${q}`) }
}
