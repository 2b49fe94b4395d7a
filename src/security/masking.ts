/**
 * Personal identifiers shown without identifying: enough of an IIN or a phone number to tell two
 * apart in a review, not enough to find the person (seed 000 §14–16: personal data is read only on
 * a stated basis, which is audited). `880101300123` → `88••••••••23`; `+77011234567` →
 * `+7701•••••67`.
 */
export function masked(text: string): string {
  const keepStart = text.startsWith('+') ? 5 : 2;
  const keepEnd = 2;
  if (text.length <= keepStart + keepEnd) return '•'.repeat(text.length);
  return text.slice(0, keepStart) + '•'.repeat(text.length - keepStart - keepEnd) + text.slice(-keepEnd);
}
