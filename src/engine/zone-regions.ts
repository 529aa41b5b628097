// Time zones that lie wholly inside ISO 3166-2 regions, so that a policy restricting a region (not
// its whole country) can recognise the region's clock. Static data: a zone is listed only when
// every place on it is inside the listed regions, and keys are canonical tzdb names.

/**
 * Canonical zone -> the ISO 3166-2 regions that together make up the area the zone covers.
 *
 * `Europe/Simferopol` is Crimea: tzdb gives it its own zone (Moscow time since 2014), and it
 * covers the Autonomous Republic of Crimea (`UA-43`) and Sevastopol (`UA-40`). The occupied parts
 * of Donetsk (`UA-14`) and Luhansk (`UA-09`) keep Moscow time too, but tzdb has no zone for them,
 * so no clock singles them out.
 *
 * @example
 * ZONE_REGIONS['Europe/Simferopol']; // ['UA-43', 'UA-40']
 * ZONE_REGIONS['Europe/Kyiv'];       // undefined: the zone spans many regions
 */
export const ZONE_REGIONS: Readonly<Record<string, readonly string[]>> = {
  'Europe/Simferopol': ['UA-43', 'UA-40'],
};
