import './ui/hvm-app';
