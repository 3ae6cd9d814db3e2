/** Popups: opened synchronously (before any await, or the browser blocks them). */

export interface PopupSize {
  width?: number;
  height?: number;
}

/** Open a blank, centred popup now; null when the browser blocked it. */
export function openPopup(name: string, size: PopupSize = {}): Window | null {
  const width = size.width ?? 480;
  const height = size.height ?? 680;
  const left = Math.max(0, (window.screenX ?? 0) + ((window.outerWidth || width) - width) / 2);
  const top = Math.max(0, (window.screenY ?? 0) + ((window.outerHeight || height) - height) / 2);
  const features = `popup=yes,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`;
  let opened: Window | null = null;
  try {
    opened = window.open('', name, features);
  } catch {
    opened = null;
  }
  return opened && !opened.closed ? opened : null;
}

export function isClosed(popup: Window): boolean {
  try {
    return popup.closed;
  } catch {
    return false;
  }
}

export function closePopup(popup: Window | null | undefined): void {
  try {
    if (popup && !popup.closed) popup.close();
  } catch {
    /* already gone */
  }
}
