// Serin's release, as package.json says (a unit test keeps the two equal): the bundle and the container
// image carry no package.json to read it from at run time.
export const SERIN_VERSION = "0.1.0";
