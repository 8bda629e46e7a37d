/**
 * How a device is known on the platform it reports through, as the estate file, the CSV import and
 * the registry accept it. One device may carry several (a LoRaWAN device's DevEUI, an NB-IoT
 * module's IMEI, the platform's own device id); each is unique across the estate.
 */
export const IDENTITY_KINDS = ['dev_eui', 'imei', 'platform_device_id'] as const
export type IdentityKind = (typeof IDENTITY_KINDS)[number]
export type Identity = { [K in IdentityKind]?: string }

/** LoRaWAN DevEUI: an EUI-64, 16 hex digits (LoRaWAN 1.0.4 §6.2.1); stored in lower case, ChirpStack's spelling. */
export const DEV_EUI_PATTERN = /^[0-9a-fA-F]{16}$/
/** IMEI: 15 digits (3GPP TS 23.003 §6.2.1: TAC 8 + SNR 6 + check digit 1). */
export const IMEI_PATTERN = /^[0-9]{15}$/
/** A platform's device id (CTWing `deviceId`, OneNET `deviceName`, the generic push's device key): printable, no spaces. */
export const PLATFORM_DEVICE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/

export const IDENTITY_RULES: Record<IdentityKind, { pattern: RegExp; message: string }> = {
  dev_eui: { pattern: DEV_EUI_PATTERN, message: 'a DevEUI is 16 hex digits' },
  imei: { pattern: IMEI_PATTERN, message: 'an IMEI is 15 digits' },
  platform_device_id: {
    pattern: PLATFORM_DEVICE_ID_PATTERN,
    message: 'a platform device id is 1–128 printable characters without spaces',
  },
}

/** The stored spelling of an identity value: a DevEUI in lower case, the others as given. */
export function normalIdentity(kind: IdentityKind, value: string): string {
  return kind === 'dev_eui' ? value.toLowerCase() : value
}

/** Why `value` is not a valid `kind` identity, or undefined. */
export function identityProblem(kind: IdentityKind, value: unknown): string | undefined {
  const rule = IDENTITY_RULES[kind]
  return typeof value === 'string' && rule.pattern.test(value) ? undefined : rule.message
}
