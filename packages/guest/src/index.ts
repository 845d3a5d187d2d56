export { buildImages, imagesDir } from './build/images.ts';
export type { GuestImages, BuildImagesOptions } from './build/images.ts';
export * from './protocol.ts';
export { buildInstanceImage, DEBIAN_INSTANCE, MASKED_UNITS } from './build/instance.ts';
export type { InstanceImageArtifact, InstanceImageOptions } from './build/instance.ts';
