/** "bucket x is off" -> "Bucket x is off": summaries start a sentence with a resource's noun. */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
