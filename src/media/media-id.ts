/** WhatsApp media ids are decimal numbers of about 15-20 digits; 32 leaves room without inviting abuse. */
const MEDIA_ID = /^[0-9]{1,32}$/;

export function isValidMediaId(id: string): boolean {
  return MEDIA_ID.test(id);
}
