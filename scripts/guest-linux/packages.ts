/**
 * The Debian packages the Linux guest image is made of, pinned: the kernel as Debian ships it and
 * BusyBox, static, for i386. `npm run guest:linux` downloads exactly these versions; the sha256 of
 * what it takes from each package is recorded here, and the tests check the committed files
 * against it.
 */

/** Debian 12 (bookworm), the i386 port; the suites a package may come from. */
export const DEBIAN_SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

export interface DebianFile {
  /** Binary package name and exact version. */
  package: string;
  version: string;
  /** Debian's source package (where the GPL sources are: `apt-get source NAME=VERSION`). */
  source: string;
  /** The member of the package's data archive taken. */
  member: string;
  sha256: string;
}

/** Debian's 686 (non-PAE) kernel: bzImage, boot protocol 2.15, XZ-compressed, no math emulation. */
export const KERNEL: DebianFile = {
  package: 'linux-image-6.1.0-50-686',
  version: '6.1.176-1',
  source: 'linux-signed-i386 6.1.176+1 (the signed wrapper of linux 6.1.176-1)',
  member: './boot/vmlinuz-6.1.0-50-686',
  sha256: 'c77cd9c37609b8b1b1cdfbb91b644a44d606d3d75da8656a0c79635be0b89c21',
};

/** The kernel's release (`uname -r`): its modules live under lib/modules/RELEASE/. */
export const KERNEL_RELEASE = '6.1.0-50-686';

/** A loadable module of the kernel's package, with the modules it needs (its `depends=`). */
export interface KernelModule extends DebianFile {
  /** The module's name (the file's, as modinfo and modprobe spell it). */
  name: string;
  /** Its path under lib/modules/KERNEL_RELEASE/. */
  path: string;
  /** The modules whose symbols it uses: its .modinfo `depends=` (the build checks it). */
  depends: string[];
}

function module(path: string, depends: string[], sha256: string): KernelModule {
  return {
    ...KERNEL,
    member: `./lib/modules/${KERNEL_RELEASE}/${path}`,
    sha256,
    name: path.slice(path.lastIndexOf('/') + 1, -'.ko'.length),
    path,
    depends,
  };
}

/**
 * The modules the initramfs carries, from the kernel's own package (Debian builds the disk and CD
 * drivers as modules): the PIIX IDE controller through libata (ata_piix) and the SCSI layer it
 * reports to, the SCSI disk (sd_mod: /dev/sda) and CD-ROM (sr_mod: /dev/sr0) drivers, and the
 * file systems of CDs and small disks (ISO 9660; FAT with the code page and character sets vfat
 * loads by default or when asked). crct10dif_generic and crc64_rocksoft_generic are soft
 * dependencies (crc-t10dif and crc64-rocksoft ask the crypto API for them when they load). Listed in
 * an order that loads each after what it depends on. The sha256 is of the file as Debian signed it
 * (the initramfs carries it without the signature: stripModuleSignature in initramfs.ts).
 */
// prettier-ignore
export const MODULES: KernelModule[] = [
  module('kernel/drivers/scsi/scsi_common.ko', [],
    '90426e4cc92b8153f89a4d2c4155055006ed9e03805c4106e6b9a3c3395e315b'),
  module('kernel/drivers/scsi/scsi_mod.ko', ['scsi_common'],
    'a9b742037a66d23c94a63233b057baed4e095cd1cf2a7c8aa6e1b8b06049c226'),
  module('kernel/drivers/ata/libata.ko', ['scsi_mod', 'scsi_common'],
    '534214e2822b3616c9ebdab24ef2e7497719f077c9dfbc3163d66a0fbf182292'),
  module('kernel/drivers/ata/ata_piix.ko', ['libata'],
    '9785d17534b5f9630efe6942a0805c52927f018b0fe9daee2b3bb2e69c6700e6'),
  module('kernel/crypto/crct10dif_common.ko', [],
    '0253d30453b2edec2e483bd46bec9fd719a6c1f64d3c0bfdbb948641b8ab08ec'),
  module('kernel/crypto/crct10dif_generic.ko', ['crct10dif_common'],
    'bc07504513d3efbebae7d0e4f5b1b4c7afee3f2036cb2a3f222e562600b9019b'),
  module('kernel/lib/crc-t10dif.ko', ['crct10dif_common'],
    '22de526294623f2ad18396a77d56f1cee24d8cedb3fecff335fe92de9044d2df'),
  module('kernel/lib/crc64.ko', [],
    '0617a18e2b3068d0efcdfc437c1b0902bb0fffd4061bc64a9c89fa0ccf175f0f'),
  module('kernel/crypto/crc64_rocksoft_generic.ko', ['crc64'],
    '16bb585f409e1f4d592c4e0175ce05bb5a42492d2825531803360bb4ee31b575'),
  module('kernel/lib/crc64-rocksoft.ko', ['crc64'],
    'ec1b147fc1141e495886f12f8bdc26e852627725448cec965a41b3269e64e7ea'),
  module('kernel/block/t10-pi.ko', ['crc-t10dif', 'crc64-rocksoft'],
    '34fed24eb0a7db0e64c8e76068fce42d97e5144da8e01dc261a9d1c94caacf23'),
  module('kernel/drivers/scsi/sd_mod.ko', ['scsi_mod', 't10-pi'],
    'b3ce415fc0d1432630009d32fad83ddf8ca1ae26517ec391c19a20d05f6f2419'),
  module('kernel/drivers/cdrom/cdrom.ko', [],
    'aff202b308162467ead33055a59e55d376d372edc305dc0aab3555322ebc1ed3'),
  module('kernel/drivers/scsi/sr_mod.ko', ['scsi_mod', 'cdrom', 'scsi_common'],
    '34ff6adf340267c98de00849a158e6864e773e55da46efe1998c747bfb01489d'),
  module('kernel/fs/isofs/isofs.ko', ['cdrom'],
    '1bd4ceb5f19fc796a71e73675575e3ebaf6f566ecdbe42379e9950539d985236'),
  module('kernel/fs/fat/fat.ko', [],
    'ddbd51b315d05b14ae52f913272d08d2032191cef2148c1413bbd2fbe203483f'),
  module('kernel/fs/fat/vfat.ko', ['fat'],
    '036e538291e5f0b96b151a6b1c1872c7f6c5ec0bc97eb9cca86531b08d439ab4'),
  module('kernel/fs/nls/nls_cp437.ko', [],
    '045bf43475e55475dfd4e21706b5628e9ee2588744239f15a02985c42ec61db2'),
  module('kernel/fs/nls/nls_ascii.ko', [],
    '86c493e8238dc708ed7fc25c14e55aa6c260d3dd2f0a71dfd5fba6679c4d97ce'),
  module('kernel/fs/nls/nls_iso8859-1.ko', [],
    '0b940a81d47d4bc9115deecd9d3dbb8a388c3a4d1652a3b0ef72d44e4926d702'),
  module('kernel/fs/nls/nls_utf8.ko', [],
    'e7a8b9018d84075725acb2be85a29edfd0cf7faf692182b50e0f0353da28ec73'),
];

export const BUSYBOX: DebianFile = {
  package: 'busybox-static',
  version: '1:1.35.0-4+deb12u1+b1',
  source: 'busybox 1:1.35.0-4+deb12u1',
  member: './bin/busybox',
  sha256: '67fc1f3acfd15646d3b055f7cd3657c6608f34f6dde9485e0c76722cb0e43800',
};

/** Where the image lives (served by the page, read by the CLI and the tests). */
export const LINUX_GUEST_DIR = 'public/guest/linux';
export const VMLINUZ_PATH = `${LINUX_GUEST_DIR}/vmlinuz`;
export const INITRAMFS_PATH = `${LINUX_GUEST_DIR}/initramfs.cpio.gz`;
/** The init script, the one file of the initramfs that is ours. */
export const INIT_SCRIPT_PATH = 'guest/linux/init';
